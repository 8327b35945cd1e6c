"""The ``[automation]`` and ``[sites.*]`` sections of config.toml."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class AutomationConfig(BaseModel):
    """How runs drive the browser."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Accounts driven at once: a number, or "auto" to follow CPU, memory and loop lag.
    concurrency: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] = "auto"
    max_concurrency: int = Field(default=8, ge=1, le=64)
    max_attempts: int = Field(default=3, ge=1, le=20)
    item_timeout_s: float = Field(default=600, gt=0)
    warmup_duration_s: float = Field(default=60, ge=0)
    backoff_base_s: float = Field(default=2.0, ge=0)
    backoff_max_s: float = Field(default=120.0, ge=0)
    verification_timeout_s: float = Field(default=300, gt=0)
    lease_s: float = Field(default=60, ge=5)
    recycle_after: int = Field(default=100, ge=1)
    headless: bool = True
    executable_path: str | None = None
    connect_url: str | None = None
    browser_args: tuple[str, ...] = ()
    # Niceness of launched Chromium processes, so pages never starve the event loop.
    browser_nice: int = Field(default=10, ge=0, le=19)
    trace: Literal["off", "on-failure"] = "off"
    navigation_timeout_s: float = Field(default=30, gt=0)


class DemoSiteConfig(BaseModel):
    """The bundled demo site adapter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = "http://127.0.0.1:8089"


class SitesConfig(BaseModel):
    """One subsection per site adapter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    demo: DemoSiteConfig = DemoSiteConfig()

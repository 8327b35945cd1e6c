"""The ``[automation]`` and ``[sites.*]`` sections of config.toml."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class AutomationConfig(BaseModel):
    """How runs drive the browser."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Accounts driven at once: a number, or "auto" to follow CPU, memory and loop lag.
    concurrency: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] = "auto"
    max_concurrency: int = Field(default=16, ge=1, le=64)
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
    # Niceness of launched Chromium processes and Playwright's driver, and (Linux) whether
    # Chromium runs in the SCHED_IDLE class, so pages never starve the event loop.
    browser_nice: int = Field(default=10, ge=0, le=19)
    browser_idle: bool = False
    trace: Literal["off", "on-failure"] = "off"
    navigation_timeout_s: float = Field(default=30, gt=0)
    # Whether `fleetbot serve` drives items itself; false leaves them to `fleetbot worker`s
    # and keeps browsers off the bot's machine.
    run_in_serve: bool = True


class DemoSiteConfig(BaseModel):
    """The bundled demo site adapter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = "http://127.0.0.1:8089"


class TikTokSiteConfig(BaseModel):
    """The TikTok adapter: where it points, how long an upload may take, what to override.

    ``selectors`` and ``texts`` override single fields of
    ``automation.sites.tiktok.selectors.Selectors`` / ``Texts`` by name, so an operator can
    follow a TikTok redesign without a new release.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = "https://www.tiktok.com"
    lang: str = Field(default="en", pattern=r"^[A-Za-z-]{2,10}$")
    # Large files take many minutes to reach TikTok before the post button enables.
    upload_timeout_s: float = Field(default=1800, gt=0)
    visibility: Literal["everyone", "friends", "only_you"] = "everyone"
    # "Too many uploading attempts": peers report that waiting hours is what clears it.
    rate_limit_cooldown_s: float = Field(default=6 * 3600, ge=0)
    selectors: dict[str, str] = Field(default_factory=dict)
    texts: dict[str, str] = Field(default_factory=dict)

    @field_validator("selectors", "texts")
    @classmethod
    def _known_keys(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        """Reject a misspelt override at load time instead of ignoring it silently."""
        from automation.sites.tiktok.selectors import Selectors, Texts  # noqa: PLC0415

        known = Selectors.field_names() if info.field_name == "selectors" else Texts.field_names()
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")
        if empty := sorted(k for k, v in value.items() if not v.strip()):
            raise ValueError(f"empty override for {', '.join(empty)}")
        return value


class SitesConfig(BaseModel):
    """One subsection per site adapter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    demo: DemoSiteConfig = DemoSiteConfig()
    tiktok: TikTokSiteConfig = TikTokSiteConfig()

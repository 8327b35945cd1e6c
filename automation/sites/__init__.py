"""The site adapters fleetbot knows, by the name stored in ``Account.site``."""

from __future__ import annotations

from dataclasses import dataclass

from automation.config import SitesConfig
from automation.sites.base import SiteAdapter

SITE_NAMES: tuple[str, ...] = ("demo", "tiktok")


@dataclass(frozen=True)
class LoginPage:
    """Where a human logs in by hand, and the cookie that appears once they have."""

    url: str
    session_cookie: str


def build_adapter(name: str, sites: SitesConfig, *, navigation_timeout_s: float) -> SiteAdapter:
    """Create the adapter for one site from its config section and the navigation timeout."""
    if name == "demo":
        from automation.sites.demo.adapter import DemoAdapter  # noqa: PLC0415

        adapter: SiteAdapter = DemoAdapter(
            sites.demo.base_url, navigation_timeout_ms=round(navigation_timeout_s * 1000)
        )
        return adapter
    if name == "tiktok":
        from automation.sites.tiktok.adapter import TikTokAdapter  # noqa: PLC0415

        return TikTokAdapter(
            sites.tiktok, navigation_timeout_ms=round(navigation_timeout_s * 1000)
        )
    raise KeyError(f"unknown site {name!r} (known: {', '.join(SITE_NAMES)})")


def login_page(name: str, sites: SitesConfig) -> LoginPage:
    """The page ``fleetbot accounts login`` opens for a site."""
    if name == "demo":
        return LoginPage(sites.demo.base_url.rstrip("/") + "/login", "sid")
    if name == "tiktok":
        tiktok = sites.tiktok
        return LoginPage(f"{tiktok.base_url.rstrip('/')}/login?lang={tiktok.lang}", "sessionid")
    raise KeyError(f"unknown site {name!r} (known: {', '.join(SITE_NAMES)})")

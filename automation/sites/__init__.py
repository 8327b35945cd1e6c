"""The site adapters fleetbot knows, by the name stored in ``Account.site``."""

from __future__ import annotations

from automation.config import SitesConfig
from automation.sites.base import SiteAdapter

SITE_NAMES: tuple[str, ...] = ("demo",)


def build_adapter(name: str, sites: SitesConfig, *, navigation_timeout_s: float) -> SiteAdapter:
    """Create the adapter for one site from its config section and the navigation timeout."""
    if name == "demo":
        from automation.sites.demo.adapter import DemoAdapter  # noqa: PLC0415

        adapter: SiteAdapter = DemoAdapter(
            sites.demo.base_url, navigation_timeout_ms=round(navigation_timeout_s * 1000)
        )
        return adapter
    raise KeyError(f"unknown site {name!r} (known: {', '.join(SITE_NAMES)})")

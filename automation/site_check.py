"""Run a site's read-only probe with one account's session and proxy (never posts).

Shared by ``fleetbot sites check`` and the bot's ``/check``. The refreshed session is not
saved: a probe changes nothing but what the site itself records about a visit.
"""

from __future__ import annotations

import json
from pathlib import Path

from automation.accounts import AccountService
from automation.browser import BrowserPool, ProxySettings
from automation.config import SitesConfig
from automation.errors import FleetbotError, VerificationRequired
from automation.sites import build_adapter
from automation.sites.base import Credentials, ItemContext
from automation.sites.checks import SiteCheck
from automation.sites.tiktok.adapter import TikTokAdapter
from automation.sites.tiktok.probe import probe
from storage.crypto import SecretBox
from storage.models import Account

PROBED_SITES = ("tiktok",)


async def _no_human(prompt: str) -> str:
    # A probe has nobody to ask: a captcha ends it (VerificationRequired) instead.
    raise VerificationRequired(f"the site asked for a human during the check: {prompt[:200]}")


async def proxy_of(account: Account, secrets: SecretBox) -> ProxySettings | None:
    """The account's proxy, its password decrypted for the browser context only."""
    await account.fetch_related("proxy")
    if account.proxy is None:
        return None
    password = account.proxy.password_enc
    return ProxySettings(
        account.proxy.server,
        account.proxy.username,
        secrets.decrypt(password) if password else None,
    )


class SiteChecker:
    """Opens one browser context per probe from the shared pool."""

    def __init__(
        self,
        pool: BrowserPool,
        sites: SitesConfig,
        secrets: SecretBox,
        *,
        navigation_timeout_s: float,
    ) -> None:
        self._pool = pool
        self._sites = sites
        self._secrets = secrets
        self._navigation_timeout_s = navigation_timeout_s

    async def check(self, site: str, label: str, video: Path | None = None) -> SiteCheck:
        """Probe site with label's session; video lets the probe open the upload form."""
        if site not in PROBED_SITES:
            raise FleetbotError(
                f"no selector probe for site {site!r} (sites with one: {', '.join(PROBED_SITES)})"
            )
        account = await AccountService(self._secrets).get(label)
        if account.site != site:
            raise FleetbotError(f"account {label} is on site {account.site!r}, not {site!r}")
        proxy = await proxy_of(account, self._secrets)
        saved = account.session_state_enc
        state = json.loads(self._secrets.decrypt(saved)) if saved else None
        adapter = build_adapter(site, self._sites, navigation_timeout_s=self._navigation_timeout_s)
        assert isinstance(adapter, TikTokAdapter)
        async with self._pool.context(proxy=proxy, storage_state=state) as context:
            page = await context.new_page()
            ctx = ItemContext(page, label, Credentials(account.username), _no_human)
            return await probe(adapter, ctx, video)

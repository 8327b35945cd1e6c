"""One attempt at one item: a fresh browser context, the site adapter, artifacts on failure.

This is the runner's only contact with Playwright. ``Attempts.drive`` opens a context with
the account's proxy and saved session, lets the adapter log in if needed and do the work,
and returns a ``Success`` (with the refreshed session, encrypted) or a ``Failure`` (with a
screenshot and, when enabled, a trace sealed with the secret key). It reads nothing from
and writes nothing to the database: the runner stores what it returns.

Errors arrive already mapped: adapters and the browser pool raise ``SiteError``s, and the
whole item runs inside the shared Playwright map as a last net. What is left to decide here
is the item's deadline (``ItemTimeout``) and an exception nobody expected (a ``SiteError``
naming its type, logged with its traceback).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from automation.artifacts import seal
from automation.browser import BrowserPool, ProxySettings
from automation.config import AutomationConfig, SitesConfig
from automation.errors import ItemTimeout, SiteError, TransientSiteError, VerificationRequired
from automation.outcomes import Failure, Success
from automation.reporting import Operator, Question
from automation.sites import build_adapter
from automation.sites.base import (
    Credentials,
    ItemContext,
    PostRef,
    SiteAdapter,
    VideoToUpload,
    WarmupReport,
    masks,
)
from automation.sites.playwright_errors import map_playwright_error, playwright_errors
from storage.crypto import SecretBox
from storage.models import RunItem, RunKind, Video

log = logging.getLogger(__name__)

SCREENSHOT_TIMEOUT_S = 10
TRACE_TIMEOUT_S = 20


class Attempts:
    """Drives items in browser contexts; one per runner."""

    def __init__(
        self,
        *,
        config: AutomationConfig,
        sites: SitesConfig,
        pool: BrowserPool,
        secrets: SecretBox,
        video_path: Callable[[Video], Path],
        artifacts_dir: Path,
        operator: Operator,
    ) -> None:
        self._config = config
        self._sites = sites
        self._pool = pool
        self._secrets = secrets
        self._video_path = video_path
        self._artifacts = artifacts_dir
        self._operator = operator
        self._adapters: dict[str, SiteAdapter] = {}

    async def drive(self, item: RunItem) -> Success | Failure:
        """One attempt at ``item`` (loaded with its run, account, proxy and video)."""
        try:
            return await self._in_browser(item)
        except SiteError as exc:  # the pool could not give the item a context
            return Failure(exc)

    async def _in_browser(self, item: RunItem) -> Success | Failure:
        account = item.account
        proxy = None
        if account.proxy is not None:
            proxy = ProxySettings(
                account.proxy.server,
                account.proxy.username,
                self._decrypt(account.proxy.password_enc),
            )
        saved = self._decrypt(account.session_state_enc)
        state = json.loads(saved) if saved else None
        limit = self._config.item_timeout_s
        deadline = asyncio.timeout(limit)
        try:
            async with deadline, self._pool.context(proxy=proxy, storage_state=state) as context:
                tracing = self._config.trace == "on-failure"
                if tracing:
                    await context.tracing.start(screenshots=True, snapshots=True)
                page = await context.new_page()
                try:
                    with playwright_errors(account.site, "driving the item"):
                        value = await self._drive(item, page)
                        new_state = json.dumps(await context.storage_state())
                except (Exception, asyncio.CancelledError) as exc:
                    if isinstance(exc, asyncio.CancelledError) and not deadline.expired():
                        raise  # cancelled from outside: the run was cancelled or we stop
                    if isinstance(exc, asyncio.CancelledError):
                        failure = Failure(ItemTimeout.after(limit))
                    else:
                        failure = Failure(self._as_site_error(exc, account.site))
                    await self._keep_artifacts(item, context, page, failure, tracing)
                    return failure
                if tracing:
                    await context.tracing.stop()
                return Success(value, self._secrets.encrypt(new_state))
        except TimeoutError:
            return Failure(ItemTimeout.after(limit))
        except PlaywrightError as exc:  # opening the page or starting the trace failed
            return Failure(map_playwright_error(exc, account.site, "opening a page"))

    async def _drive(self, item: RunItem, page: Page) -> WarmupReport | PostRef:
        account = item.account
        adapter = self._adapter(account.site)
        ctx = ItemContext(
            page=page,
            account_label=account.label,
            credentials=Credentials(account.username, self._decrypt(account.password_enc)),
            ask_human=lambda prompt: self._ask(item, page, prompt),
        )
        if not await adapter.is_logged_in(ctx):
            await adapter.log_in(ctx)
        params = item.run.params
        if item.run.kind == RunKind.WARMUP:
            duration = float(params.get("duration_s", self._config.warmup_duration_s))  # type: ignore[arg-type]
            return await adapter.warmup(ctx, duration)
        video = item.video
        assert video is not None, "upload items always have a video"
        caption = params.get("caption")
        upload = VideoToUpload(
            path=self._video_path(video),
            sha256=video.sha256,
            caption=str(caption) if caption is not None else video.caption,
            original_name=video.original_name,
        )
        # Before every attempt: a post that reached the site earlier is recorded, not redone.
        existing = await adapter.find_post(ctx, upload)
        if existing is not None:
            return existing
        return await adapter.upload(ctx, upload)

    @staticmethod
    def _as_site_error(exc: BaseException, site: str) -> SiteError:
        """Our error for what escaped the adapter (Playwright's are mapped by now)."""
        if isinstance(exc, SiteError):
            return exc
        if isinstance(exc, TimeoutError):  # an adapter's own wait, not the item's deadline
            return TransientSiteError(f"{site}: timed out while driving the item")
        log.error("adapter raised an unexpected error", exc_info=exc)
        return SiteError(f"unexpected {type(exc).__name__} in the site adapter")

    def _adapter(self, site: str) -> SiteAdapter:
        if site not in self._adapters:
            self._adapters[site] = build_adapter(
                site, self._sites, navigation_timeout_s=self._config.navigation_timeout_s
            )
        return self._adapters[site]

    def _decrypt(self, token: str | None) -> str | None:
        return self._secrets.decrypt(token) if token else None

    async def _ask(self, item: RunItem, page: Page, prompt: str) -> str:
        screenshot = b""
        with contextlib.suppress(PlaywrightError):
            screenshot = await page.screenshot(mask=masks(page, self._adapter(item.account.site)))
        question = Question(item.run_id, item.id, item.account.label, prompt, screenshot)
        timeout = self._config.verification_timeout_s
        try:
            async with asyncio.timeout(timeout):
                answer = await self._operator.ask(question)
        except TimeoutError:
            raise VerificationRequired(
                f"nobody answered the verification prompt within {timeout:.0f}s"
            ) from None
        if not answer or not answer.strip():
            raise VerificationRequired("the site asked for a verification code; none was given")
        return answer.strip()

    async def _keep_artifacts(
        self,
        item: RunItem,
        context: BrowserContext,
        page: Page,
        failure: Failure,
        tracing: bool,
    ) -> None:
        folder = self._artifacts / f"run-{item.run_id}"
        stem = f"item-{item.id}-attempt-{item.attempts}"
        try:
            await asyncio.to_thread(folder.mkdir, mode=0o700, parents=True, exist_ok=True)
            shot = folder / f"{stem}.png"
            async with asyncio.timeout(SCREENSHOT_TIMEOUT_S):
                await page.screenshot(
                    path=shot, full_page=False, mask=masks(page, self._adapter(item.account.site))
                )
            failure.screenshot = str(shot)
        except (PlaywrightError, TimeoutError, OSError):
            log.info("no screenshot for item %d (the page was gone)", item.id)
        if tracing:
            trace = folder / f"{stem}.trace.zip"
            try:
                async with asyncio.timeout(TRACE_TIMEOUT_S):
                    await context.tracing.stop(path=trace)
                # It holds what was typed and sent (passwords, cookies): sealed at once.
                failure.trace = str(await asyncio.to_thread(seal, trace, self._secrets))
            except (PlaywrightError, TimeoutError, OSError):
                await asyncio.to_thread(trace.unlink, missing_ok=True)
                log.info("no trace for item %d", item.id)

"""Moving around TikTok's pages: open one, clear whatever popup blocks it, read its verdicts.

TikTok's popups appear in varying order and at varying moments, so there is no fixed
sequence: ``Studio.clear`` looks for every known blocker and dismisses those on screen, and
every action goes through ``Studio.act``, which clears blockers before each try.
Playwright failures become ``automation.errors`` through the shared map
(``automation.sites.playwright_errors``); messages name the step, never a cookie or what
was typed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from urllib.parse import urlsplit

from playwright.async_api import Dialog, Frame, Locator, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from automation.errors import (
    LoginRequired,
    RateLimited,
    SiteChanged,
    TransientSiteError,
    UploadRejected,
    VerificationRequired,
)
from automation.sites.base import ItemContext
from automation.sites.playwright_errors import playwright_errors
from automation.sites.tiktok.selectors import Selectors, Texts

ACT_MS = 4000  # one try of a click; a popup that lands on top makes it time out and retry
ACT_TRIES = 5
POLL_S = 0.25


def site_errors(action: str) -> AbstractContextManager[None]:
    """Turn Playwright failures inside the block into our errors (the shared map)."""
    return playwright_errors("tiktok", action)


def path_of(url: str) -> str:
    """The path of a URL ("/" when empty)."""
    return urlsplit(url).path or "/"


def login_fix(label: str) -> str:
    """How the human gets a session in; fleetbot never types TikTok passwords."""
    return (
        f"import a session for {label}: send a cookies file captioned `/session {label}`, "
        f"run `fleetbot accounts set-session {label} FILE`, or log in by hand with "
        f"`fleetbot accounts login {label}`"
    )


def override_hint(kind: str, name: str) -> str:
    """The config key that fixes a broken selector or text."""
    table = "selectors" if kind == "selector" else "texts"
    return f"[sites.tiktok.{table}] {name}"


async def _accept(dialog: Dialog) -> None:
    # "Leave site?" after Post would otherwise hold up the redirect (Playwright dismisses).
    with contextlib.suppress(PlaywrightError):
        await dialog.accept()


def accept_dialogs(page: Page) -> None:
    """Accept beforeunload and other dialogs on this page from now on."""
    page.on("dialog", _accept)


@dataclass
class Studio:
    """One open TikTok page for one item: where the form lives and how to keep it clear."""

    ctx: ItemContext
    sel: Selectors
    txt: Texts
    rate_limit_cooldown_s: float
    root: Frame | None = None  # the upload form's frame (the page's own, or the old iframe)
    form_shown: bool = False  # a file was chosen and its form appeared

    @property
    def page(self) -> Page:
        """The item's page."""
        return self.ctx.page

    def frames(self) -> list[Frame]:
        """Where popups can show: the page and, in the old layout, the form's iframe."""
        main = self.page.main_frame
        return [main] if self.root in (None, main) else [main, self.root]

    def form(self) -> Frame:
        """The frame holding the upload form (the page's own until an iframe is found)."""
        return self.root or self.page.main_frame

    def on_login_page(self) -> bool:
        """TikTok sent the browser to its login page: the session is gone."""
        return path_of(self.page.url).startswith("/login")

    def require_session(self) -> None:
        """Raise LoginRequired when TikTok has redirected to its login page."""
        if self.on_login_page():
            raise LoginRequired(
                "tiktok: TikTok sent the browser to its login page (the session is not valid); "
                + login_fix(self.ctx.account_label)
            )

    async def find_form(self) -> Frame | None:
        """The frame whose document holds the file input, or None while there is none."""
        iframe = self.page.locator(self.sel.upload_iframe)
        if await iframe.count():
            handle = await iframe.first.element_handle(timeout=ACT_MS)
            frame = await handle.content_frame() if handle else None
            if frame is not None and await frame.locator(self.sel.file_input).count():
                self.root = frame
                return frame
        if await self.page.locator(self.sel.file_input).count():
            self.root = self.page.main_frame
            return self.root
        return None

    def _blockers(self, frame: Frame) -> list[tuple[str, Locator]]:
        sel, txt = self.sel, self.txt

        def dialog(title: str, button: str) -> Locator:
            return (
                frame.locator(sel.dialog).filter(has_text=title).get_by_role("button", name=button)
            )

        return [
            (
                "cookie banner",
                frame.locator(sel.cookie_banner).get_by_role("button", name=txt.cookie_decline),
            ),
            ("new features", dialog(txt.new_features, txt.got_it)),
            (
                "tutorial",
                frame.locator(sel.tutorial_overlay).get_by_role("button", name=txt.tutorial_skip),
            ),
            ("content checks", dialog(txt.content_checks, txt.cancel)),
            ("continue to post", dialog(txt.continue_to_post, txt.post_now)),
        ]

    async def clear(self) -> int:
        """Dismiss every known popup on screen now; a captcha goes to the human. Returns count."""
        cleared = 0
        for frame in self.frames():
            await self._captcha(frame)
            for name, button in self._blockers(frame):
                if await visible(button):
                    with contextlib.suppress(PlaywrightTimeoutError):
                        await button.first.click(timeout=ACT_MS)
                        self.ctx.log(f"tiktok: dismissed the {name} popup")
                        cleared += 1
        return cleared

    async def _captcha(self, frame: Frame) -> None:
        if not await visible(frame.locator(self.sel.captcha)):
            return
        label = self.ctx.account_label
        self.ctx.log(f"tiktok: {label} is shown a captcha")
        await self.ctx.ask_human(
            f"TikTok shows a captcha to {label}. fleetbot does not solve captchas. Solve it "
            f"by logging in by hand (`fleetbot accounts login {label}`), then reply 'done'; "
            "the item stops here either way if the captcha is still shown."
        )
        if await visible(frame.locator(self.sel.captcha)):
            raise VerificationRequired(
                f"tiktok: TikTok asked {label} to solve a captcha; fleetbot does not solve "
                f"captchas (log in by hand with `fleetbot accounts login {label}`)"
            )

    async def act(self, what: str, action: Callable[[], Awaitable[object]]) -> None:
        """Clear blockers, then try action; a popup that lands in between means try again."""
        for tries_left in reversed(range(ACT_TRIES)):
            await self.clear()
            await self.verdict()
            try:
                await action()
                return
            except PlaywrightTimeoutError:
                if not tries_left:
                    raise TransientSiteError(f"tiktok: could not get to {what}") from None

    async def verdict(self) -> None:
        """Raise what TikTok's page says went wrong, if it says anything."""
        self.require_session()
        form = self.form()
        if await visible(form.get_by_text(self.txt.rate_limited)):
            raise RateLimited(
                f"tiktok: TikTok says {await _text(form, self.txt.rate_limited)!r}; "
                f"the account rests for {self.rate_limit_cooldown_s / 3600:g}h",
                self.rate_limit_cooldown_s,
            )
        if await visible(form.get_by_text(self.txt.something_went_wrong)):
            said = await _text(form, self.txt.something_went_wrong)
            raise UploadRejected(f"tiktok: TikTok refused the post: {said}")
        if self.form_shown:
            await self.require_no_select_button()

    async def require_no_select_button(self) -> None:
        """Raise a failed upload if the select step is back on screen after a file was chosen."""
        form = self.form()
        for text in (self.txt.select_video, self.txt.select_file):
            if await visible(form.get_by_role("button", name=text)):
                raise TransientSiteError(
                    f"tiktok: the upload failed (the {text!r} button came back)"
                )

    async def wait_for(
        self,
        what: str,
        check: Callable[[], Awaitable[bool]],
        timeout_s: float,
        *,
        quiet: bool = False,
    ) -> bool:
        """Poll check (clearing popups, reading verdicts) until it holds or timeout_s passes.

        Running out of time raises TransientSiteError, or returns False when ``quiet``.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            await self.clear()
            await self.verdict()
            if await check():
                return True
            if time.monotonic() >= deadline:
                if quiet:
                    return False
                raise TransientSiteError(f"tiktok: gave up after {timeout_s:.0f}s waiting {what}")
            await asyncio.sleep(POLL_S)  # polling the page; no event tells us

    def missing(self, kind: str, name: str, value: str) -> SiteChanged:
        """The error for a selector or text that is not where it should be."""
        return SiteChanged(
            f"tiktok: {kind} {name} ({value!r}) was not found; TikTok may have changed the "
            f"page. Check with `fleetbot sites check tiktok --account {self.ctx.account_label}`"
            f" and override it with {override_hint(kind, name)}"
        )


async def visible(locator: Locator) -> bool:
    """Whether the locator's first match is on screen now (no waiting)."""
    with contextlib.suppress(PlaywrightError):
        return await locator.first.is_visible()
    return False


async def _text(frame: Frame, text: str) -> str:
    with contextlib.suppress(PlaywrightError):
        return (await frame.get_by_text(text).first.inner_text(timeout=ACT_MS)).strip()[:300]
    return text

"""The demo site's adapter: log in (with an optional code), browse the feed, upload a video.

Playwright failures are mapped to ``automation.errors`` by the one shared map,
``automation.sites.playwright_errors``, around each step.
Messages name the step and the page path, never what was typed or a cookie.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import ClassVar, cast
from urllib.parse import quote, urljoin, urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Response
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from automation.errors import (
    LoginRequired,
    TransientSiteError,
    UploadRejected,
    VerificationRequired,
)
from automation.sites.base import ItemContext, PostRef, VideoToUpload, WarmupReport
from automation.sites.playwright_errors import NET_ERROR, playwright_errors


@dataclass(frozen=True)
class Selectors:
    """Every CSS selector the adapter relies on; the site's markup contract."""

    whoami: str = "#whoami"
    error: str = "#error"
    username: str = "#username"
    password: str = "#password"
    login_submit: str = "#login-submit"
    code: str = "#code"
    verify_submit: str = "#verify-submit"
    feed_link: str = "#feed article.post a.post-link"
    profile_post: str = "#posts article.post, #pending article.post"
    video: str = "#video"
    title: str = "#title"
    caption: str = "#caption"
    upload_submit: str = "#upload-submit"


SEL = Selectors()
SITE = "demo"
LOGGED_OUT_PATHS = ("/login", "/verify")
PROCESSING_TIMEOUT_MS = 45_000
UPLOAD_TIMEOUT_MS = 120_000  # sending a large file through a slow proxy outlasts a page load
OPEN_TRIES = 4
OPEN_RETRY_S = 0.3
_POST_URL = re.compile(r"/post/\d+(?:[?#].*)?$")
_POST_PATH = re.compile(r"/post/\d+")

# Reads title, caption and link of each profile article in one round trip.
_PROFILE_JS = """els => els.map(e => ({
  href: e.querySelector('a.post-link')?.getAttribute('href') ?? '',
  title: e.querySelector('.post-title')?.textContent ?? '',
  caption: e.querySelector('.post-caption')?.textContent ?? '',
}))"""
# Indexes of the feed links currently on screen, so a "reader" opens what they can see.
_VISIBLE_JS = """els => els.flatMap((e, i) => {
  const r = e.getBoundingClientRect();
  return r.bottom > 0 && r.top < window.innerHeight ? [i] : [];
})"""


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


class ServerError(TransientSiteError):
    """The demo site answered 5xx."""


def _check(response: Response | None) -> None:
    if response is not None and response.status >= 500:
        raise ServerError(f"demo: HTTP {response.status} on {_path(response.url)}")


class DemoAdapter:
    """Drives the demo site (``automation.sites.demo.server``) like a person would."""

    name: ClassVar[str] = "demo"
    # Fields whose contents a screenshot must not show (see automation.sites.base.masks).
    mask_selectors: ClassVar[tuple[str, ...]] = (SEL.username, SEL.password, SEL.code)

    def __init__(
        self,
        base_url: str,
        *,
        rng: random.Random | None = None,
        navigation_timeout_ms: int = 30_000,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._rng = rng or random.Random()
        self._timeout_ms = navigation_timeout_ms

    # -- SiteAdapter ---------------------------------------------------------------------------

    async def is_logged_in(self, ctx: ItemContext) -> bool:
        """Open the feed and tell whether it greets ctx's user."""
        with playwright_errors(SITE, "checking the session"):
            await self._open(ctx.page, "/feed")
            return await self._whoami(ctx.page) == ctx.credentials.username

    async def log_in(self, ctx: ItemContext) -> None:
        """Log in, asking the human for the code when the site wants one."""
        user, password = ctx.credentials.username, ctx.credentials.password
        if not password:
            raise LoginRequired(f"demo: no password is stored for {user}")
        page = ctx.page

        async def submit_login() -> None:
            await self._open(page, "/login")
            await page.locator(SEL.username).fill(user)
            await page.locator(SEL.password).fill(password)
            await self._submit(page, SEL.login_submit)

        with playwright_errors(SITE, "logging in"):
            await self._repeatable(submit_login)  # the site logs in once however often asked
            if await self._error_text(page) is not None:
                raise LoginRequired("demo: the site refused the username or password")
            if _path(page.url) == "/verify":
                ctx.log(f"demo: {user} must enter a verification code")
                code = await ctx.ask_human(f"Enter the 6-digit code the demo site sent to {user}")

                async def submit_code() -> None:
                    if _path(page.url) != "/verify":  # an error page replaced the form
                        await self._open(page, "/verify")
                    await page.locator(SEL.code).fill(code.strip())
                    await self._submit(page, SEL.verify_submit)

                await self._repeatable(submit_code)
                if await self._error_text(page) is not None or _path(page.url) == "/verify":
                    raise VerificationRequired("demo: the site did not accept the code")
            if await self._whoami(page) != user:
                raise LoginRequired(f"demo: logging in as {user} did not reach the feed")

    async def warmup(self, ctx: ItemContext, duration_s: float) -> WarmupReport:
        """Scroll the feed and open a few posts until duration_s has passed."""
        started = time.monotonic()
        deadline = started + max(0.0, duration_s)
        page = ctx.page
        scrolls = viewed = 0
        with playwright_errors(SITE, "warming up"):
            user = await self._open_as_user(ctx, "/feed")
            await page.mouse.move(self._rng.randint(200, 600), self._rng.randint(150, 400))
            while (remaining := deadline - time.monotonic()) > 0:
                # Start with a scroll; later, now and then read a post if there is time for it.
                if scrolls and remaining > 0.5 and self._rng.random() < 0.25:
                    viewed += await self._read_a_post(page, deadline)
                else:
                    await page.mouse.wheel(0, self._rng.randint(250, 800))
                    scrolls += 1
                await self._pause(deadline, 0.3, 1.5)
        ctx.log(f"demo: warmup saw {viewed} posts in {scrolls} scrolls")
        return WarmupReport(user, viewed, scrolls, time.monotonic() - started)

    async def find_post(self, ctx: ItemContext, video: VideoToUpload) -> PostRef | None:
        """Look on the account's profile for a post carrying video.marker."""
        with playwright_errors(SITE, "looking for the post on the profile"):
            for post in await self._profile_posts(ctx):
                if video.marker in post["title"] or video.marker in post["caption"]:
                    return PostRef(self._post_url(post["href"]), already_posted=True)
        return None

    async def upload(self, ctx: ItemContext, video: VideoToUpload) -> PostRef:
        """Upload the file, wait for processing, and confirm the post is on the profile."""
        page = ctx.page
        with playwright_errors(SITE, "uploading"):
            await self._open_as_user(ctx, "/upload")
            await page.locator(SEL.video).set_input_files(video.path)
            stem = PurePath(video.original_name).stem or "video"
            await page.locator(SEL.title).fill(f"{stem} [{video.marker}]")
            await page.locator(SEL.caption).fill(video.caption)
            await self._submit(page, SEL.upload_submit, max(UPLOAD_TIMEOUT_MS, self._timeout_ms))
            error = await self._error_text(page)
            if error is not None:
                raise UploadRejected(f"demo: the site refused the upload: {error}")
            await page.wait_for_url(_POST_URL, timeout=PROCESSING_TIMEOUT_MS)
            post_path = _path(page.url)
            if not any(p["href"] == post_path for p in await self._profile_posts(ctx)):
                raise TransientSiteError(f"demo: {post_path} is not on the profile yet")
        ctx.log(f"demo: posted {post_path}")
        return PostRef(self._post_url(post_path))

    # -- steps -----------------------------------------------------------------------------------

    async def _repeatable(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run a step that is safe to repeat (the login or the code form) up to OPEN_TRIES
        times while the site answers 5xx or drops the connection. A timeout is not
        repeated (the site may still be working on it), and neither is an upload's POST."""
        for tries_left in reversed(range(OPEN_TRIES)):
            try:
                await step()
            except (ServerError, PlaywrightError) as exc:
                network = isinstance(exc, PlaywrightError) and NET_ERROR.search(str(exc))
                timeout = isinstance(exc, PlaywrightTimeoutError)
                if not tries_left or timeout or not (network or isinstance(exc, ServerError)):
                    raise
            else:
                return
            await asyncio.sleep(OPEN_RETRY_S * (OPEN_TRIES - tries_left))  # backoff, no event

    def _post_url(self, href: str) -> str:
        """The absolute URL of a post link the site gave, only if it is on the site itself.

        The link is the site's text: joined naively, ``@evil.example/post/1`` would make the
        URL the operator is shown and follows point to another host.
        """
        url = urljoin(self._base + "/", href)
        parts, base = urlsplit(url), urlsplit(self._base)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or not _POST_PATH.fullmatch(
            parts.path
        ):
            raise UploadRejected("demo: the site's link to the post is not a post on the site")
        return url

    async def _open(self, page: Page, path: str) -> None:
        """Load a page. A GET is safe to repeat, so a 5xx answer or a dropped connection is
        retried here (OPEN_TRIES in all) before it fails the attempt; a timeout is not, and
        a form's POST never is (see ``_submit``)."""
        for tries_left in reversed(range(OPEN_TRIES)):
            try:
                response = await page.goto(
                    self._base + path, wait_until="domcontentloaded", timeout=self._timeout_ms
                )
            except PlaywrightTimeoutError:
                raise
            except PlaywrightError as exc:
                if not tries_left or not NET_ERROR.search(str(exc)):
                    raise
            else:
                if not tries_left or response is None or response.status < 500:
                    _check(response)
                    return
            await asyncio.sleep(OPEN_RETRY_S * (OPEN_TRIES - tries_left))  # backoff, no event

    async def _submit(self, page: Page, button: str, timeout_ms: int | None = None) -> None:
        """Click a form's submit button and wait for the page it leads to."""
        async with page.expect_navigation(
            wait_until="domcontentloaded", timeout=timeout_ms or self._timeout_ms
        ) as navigation:
            await page.locator(button).click(timeout=self._timeout_ms)
        _check(await navigation.value)

    async def _whoami(self, page: Page) -> str | None:
        if _path(page.url) in LOGGED_OUT_PATHS:
            return None
        who = page.locator(SEL.whoami)
        if await who.count() == 0:
            return None
        return await who.first.get_attribute("data-user", timeout=self._timeout_ms)

    async def _open_as_user(self, ctx: ItemContext, path: str) -> str:
        """Open path and make sure it is ctx's account that sees it; return the username."""
        await self._open(ctx.page, path)
        who, user = await self._whoami(ctx.page), ctx.credentials.username
        if who is None:
            # The session ended since is_logged_in; a retry will log in again.
            raise TransientSiteError(f"demo: not logged in on {path} (the session ended)")
        if who != user:
            raise LoginRequired(f"demo: the browser is logged in as {who}, not {user}")
        return who

    async def _error_text(self, page: Page) -> str | None:
        error = page.locator(SEL.error)
        if await error.count() == 0:
            return None
        return (await error.first.inner_text(timeout=self._timeout_ms)).strip()

    async def _profile_posts(self, ctx: ItemContext) -> list[dict[str, str]]:
        user = ctx.credentials.username
        await self._open_as_user(ctx, f"/u/{quote(user)}")
        found = await ctx.page.locator(SEL.profile_post).evaluate_all(_PROFILE_JS)
        return cast(list[dict[str, str]], found)

    async def _read_a_post(self, page: Page, deadline: float) -> int:
        """Open a post visible in the feed, read it a moment, go back; return 1 if opened.

        A post that fails to load (5xx, dropped connection) is given up like a reader
        would: back to the feed, nothing read."""
        try:
            return await self._open_a_post(page, deadline)
        except (ServerError, PlaywrightError) as exc:
            if isinstance(exc, PlaywrightTimeoutError) or not (
                isinstance(exc, ServerError) or NET_ERROR.search(str(exc))
            ):
                raise
            await self._open(page, "/feed")
            return 0

    async def _open_a_post(self, page: Page, deadline: float) -> int:
        links = page.locator(SEL.feed_link)
        visible = cast(list[int], await links.evaluate_all(_VISIBLE_JS))
        if not visible:
            return 0
        async with page.expect_navigation(
            wait_until="domcontentloaded", timeout=self._timeout_ms
        ) as navigation:
            await links.nth(self._rng.choice(visible)).click(timeout=self._timeout_ms)
        _check(await navigation.value)
        await self._pause(deadline, 0.8, 2.0)
        back = await page.go_back(wait_until="domcontentloaded", timeout=self._timeout_ms)
        _check(back)
        if _path(page.url) != "/feed":
            await self._open(page, "/feed")
        return 1

    async def _pause(self, deadline: float, low: float, high: float) -> None:
        """Wait a human-ish random while, but never past the deadline."""
        wait = min(self._rng.uniform(low, high), deadline - time.monotonic())
        if wait > 0:
            await asyncio.sleep(wait)

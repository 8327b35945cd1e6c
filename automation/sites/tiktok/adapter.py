"""The TikTok adapter: check the session, watch the For You feed, upload through TikTok Studio.

Sessions come from the human (imported cookies or ``fleetbot accounts login``): fleetbot
never types a TikTok password, never solves a captcha, never likes, follows or comments.
The caption carries the video's marker so ``find_post`` finds the post on the content page
after a crash instead of posting twice.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import ClassVar, cast
from urllib.parse import urljoin

from playwright.async_api import Locator, Page

from automation.config import TikTokSiteConfig
from automation.errors import LoginRequired, TransientSiteError
from automation.sites.base import ItemContext, PostRef, VideoToUpload, WarmupReport
from automation.sites.tiktok.selectors import (
    CAPTION_MAX,
    SESSION_COOKIE,
    Selectors,
    Texts,
)
from automation.sites.tiktok.studio import (
    ACT_MS,
    Studio,
    accept_dialogs,
    login_fix,
    path_of,
    site_errors,
    visible,
)

UPLOAD_PATH = "/tiktokstudio/upload"
CONTENT_PATH = "/tiktokstudio/content"
FEED_PATH = "/foryou"
LOGIN_PATH = "/login"
POSTED_WAIT_S = 60  # from Post to TikTok's confirmation
LISTED_WAIT_S = 60  # from confirmation to the post's row on the content page
CONTENT_SETTLE_S = 5  # an account with no posts shows no rows: wait this long, no more
WATCH_S = (2.5, 9.0)  # how long a person looks at one video before the next

# Every row's link and text in one round trip.
_ROWS_JS = """(rows, link) => rows.map(r => ({
  href: r.querySelector(link)?.getAttribute('href') ?? '',
  text: r.innerText,
}))"""
# The feed item filling most of the screen: what is being watched.
_CURRENT_JS = """els => {
  let best = null, area = 0;
  els.forEach((e, i) => {
    const r = e.getBoundingClientRect();
    const seen = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
    if (seen > area) { area = seen; best = e.getAttribute('data-video-id') || String(i); }
  });
  return best;
}"""


def compose_caption(caption: str, marker: str) -> str:
    """The caption as posted: the operator's text, then the marker, within TikTok's cap."""
    room = CAPTION_MAX - len(marker) - 1
    text = caption.strip()[:room].rstrip()
    return f"{text} {marker}" if text else marker


class TikTokAdapter:
    """Drives tiktok.com (or the test replica at ``base_url``) like the account's owner."""

    name: ClassVar[str] = "tiktok"
    # fleetbot types no credential or code into TikTok (sessions come from the human), and
    # a captcha is shown to the human on purpose: nothing to black out.
    mask_selectors: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        config: TikTokSiteConfig,
        *,
        rng: random.Random | None = None,
        navigation_timeout_ms: int = 15000,
    ) -> None:
        self.config = config
        self.sel = Selectors().with_overrides(config.selectors)
        self.txt = Texts().with_overrides(config.texts)
        self._base = config.base_url.rstrip("/")
        self._rng = rng or random.Random()
        self._timeout_ms = navigation_timeout_ms

    def url(self, path: str) -> str:
        """An absolute URL on the site, with ``lang`` to keep the page texts stable."""
        return f"{self._base}{path}{'&' if '?' in path else '?'}lang={self.config.lang}"

    def studio(self, ctx: ItemContext) -> Studio:
        """A fresh page helper for ctx."""
        return Studio(ctx, self.sel, self.txt, self.config.rate_limit_cooldown_s)

    # -- SiteAdapter ---------------------------------------------------------------------------

    async def is_logged_in(self, ctx: ItemContext) -> bool:
        """Open the upload page; the file input means logged in, a /login redirect means not."""
        cookies = await ctx.page.context.cookies(self._base)
        if not any(c.get("name") == SESSION_COOKIE for c in cookies):
            return False  # without sessionid TikTok never shows the upload page
        with site_errors("checking the session"):
            studio = await self.open_upload(ctx)
        return studio is not None

    async def log_in(self, ctx: ItemContext) -> None:
        """Always raises: TikTok's password form is captcha-gated, so the human logs in."""
        raise LoginRequired(
            "tiktok: not logged in, and fleetbot does not type TikTok passwords; "
            + login_fix(ctx.account_label)
        )

    async def warmup(self, ctx: ItemContext, duration_s: float) -> WarmupReport:
        """Watch the For You feed for about duration_s, one video after another; never interact."""
        started = time.monotonic()
        deadline = started + max(0.0, duration_s)
        page, studio = ctx.page, self.studio(ctx)
        watched: set[str] = set()
        scrolls = 0
        with site_errors("watching the feed"):
            await self.goto(page, FEED_PATH)
            studio.require_session()
            await studio.wait_for(
                "for the feed",
                lambda: visible(page.locator(self.sel.feed_item)),
                self._timeout_ms / 1000,
            )
            size = page.viewport_size or {"width": 1280, "height": 900}
            await page.mouse.move(size["width"] // 2, size["height"] // 2)
            while True:
                await studio.clear()
                current = await page.locator(self.sel.feed_item).evaluate_all(_CURRENT_JS)
                if current is not None:
                    watched.add(str(current))
                await self._pause(deadline, *WATCH_S)
                if time.monotonic() >= deadline:
                    break
                await page.mouse.wheel(0, size["height"])
                scrolls += 1
        ctx.log(f"tiktok: warmup watched {len(watched)} videos")
        return WarmupReport(
            ctx.credentials.username, len(watched), scrolls, time.monotonic() - started
        )

    async def find_post(self, ctx: ItemContext, video: VideoToUpload) -> PostRef | None:
        """Look on the content page for a post whose caption carries video.marker."""
        with site_errors("looking for the post on the content page"):
            url = await self._listed(ctx, video.marker)
        return PostRef(url, already_posted=True) if url else None

    async def upload(self, ctx: ItemContext, video: VideoToUpload) -> PostRef:
        """Choose the file, write the caption, wait for the upload, post, find the post's URL."""
        page = ctx.page
        accept_dialogs(page)
        caption = compose_caption(video.caption, video.marker)
        with site_errors("uploading"):
            studio = await self.open_upload(ctx)
            if studio is None:
                raise LoginRequired(
                    "tiktok: the upload page asked to log in; " + login_fix(ctx.account_label)
                )
            form, sel = studio.form(), self.sel
            await form.locator(sel.file_input).first.set_input_files(video.path, timeout=ACT_MS)
            await self._wait_form(studio)
            studio.form_shown = True
            await self._write_caption(studio, caption, video.marker)
            await self._set_visibility(studio)
            post = form.locator(sel.post_button)
            if not await post.count():
                raise studio.missing("selector", "post_button", sel.post_button)
            await studio.wait_for(
                "for the upload to finish", lambda: _enabled(post), self.config.upload_timeout_s
            )
            await studio.act("the Post button", lambda: post.first.click(timeout=ACT_MS))
            ctx.log("tiktok: Post clicked")
            await studio.wait_for(
                "for TikTok to confirm the post", lambda: self._posted(studio), POSTED_WAIT_S
            )
            url = await self._listed(ctx, video.marker, wait_s=LISTED_WAIT_S)
        if url is None:
            raise TransientSiteError("tiktok: posted, but the post is not on the content page yet")
        ctx.log(f"tiktok: posted {url}")
        return PostRef(url)

    # -- steps -----------------------------------------------------------------------------------

    async def open_upload(self, ctx: ItemContext) -> Studio | None:
        """Open the upload page and race the file input against a redirect to /login.

        Returns the page helper with the form's frame found, or None when logged out.
        """
        studio = self.studio(ctx)
        await self.goto(ctx.page, UPLOAD_PATH)
        deadline = time.monotonic() + self._timeout_ms / 1000
        while time.monotonic() < deadline:
            if studio.on_login_page():
                return None
            await studio.clear()
            if await studio.find_form() is not None:
                return studio
            await asyncio.sleep(0.1)  # the redirect comes a few hundred ms after load
        if studio.on_login_page():
            return None
        raise studio.missing("selector", "file_input", self.sel.file_input)

    async def goto(self, page: Page, path: str) -> None:
        """Load a page of the site (with ``lang``); a 5xx answer is transient."""
        response = await page.goto(
            self.url(path), wait_until="domcontentloaded", timeout=self._timeout_ms
        )
        if response is not None and response.status >= 500:
            raise TransientSiteError(f"tiktok: HTTP {response.status} on {path_of(response.url)}")

    async def _wait_form(self, studio: Studio) -> None:
        editor = studio.form().locator(self.sel.caption_editor)
        try:
            await studio.wait_for(
                "for the upload form", lambda: visible(editor), self._timeout_ms / 1000
            )
        except TransientSiteError:
            await studio.verdict()
            # The file was chosen, so the select step on screen now is a failed upload, even
            # one that failed between two polls and was never seen with its form. Checked
            # only here: while the page is still rendering the form it is not a verdict.
            await studio.require_no_select_button()
            raise studio.missing("selector", "caption_editor", self.sel.caption_editor) from None

    async def _write_caption(self, studio: Studio, caption: str, marker: str) -> None:
        """Replace the pre-filled file name with the caption, closing the hashtag popover."""
        page, form = studio.page, studio.form()
        editor = form.locator(self.sel.caption_editor).first
        popover = form.locator(self.sel.hashtag_popover)
        await studio.act("the caption editor", lambda: editor.click(timeout=ACT_MS))
        await page.keyboard.press("ControlOrMeta+A")
        await page.keyboard.press("Delete")
        for number, line in enumerate(caption.split("\n")):
            if number:
                await _close(page, popover)
                await page.keyboard.press("Enter")
            await page.keyboard.type(line, delay=self._rng.randint(5, 25))
        await _close(page, popover)
        written = await editor.inner_text(timeout=ACT_MS)
        if marker not in written:
            await studio.verdict()  # the page may say why (a failed upload drops the form)
            raise TransientSiteError(
                "tiktok: the caption did not take (the editor shows other text)"
            )

    async def _set_visibility(self, studio: Studio) -> None:
        choice = self.config.visibility
        if choice == "everyone":
            return  # TikTok's default; not touching the control keeps the flow short
        label = getattr(self.txt, f"visibility_{choice}")
        form = studio.form()
        dropdown = form.locator(self.sel.visibility_dropdown)
        if not await dropdown.count():
            raise studio.missing("selector", "visibility_dropdown", self.sel.visibility_dropdown)
        await studio.act("the visibility menu", lambda: dropdown.first.click(timeout=ACT_MS))
        option = form.get_by_role("option", name=label, exact=True)
        await studio.act(f"the {label!r} option", lambda: option.first.click(timeout=ACT_MS))

    async def _posted(self, studio: Studio) -> bool:
        if path_of(studio.page.url).startswith(CONTENT_PATH):
            return True
        for text in (self.txt.uploaded, self.txt.published):
            for frame in studio.frames():
                if await visible(frame.get_by_text(text)):
                    return True
        return False

    async def _listed(self, ctx: ItemContext, marker: str, wait_s: float = 0) -> str | None:
        """The URL of the content page's row carrying marker, polling up to wait_s for it."""
        studio = self.studio(ctx)
        deadline = time.monotonic() + wait_s
        rows = ctx.page.locator(self.sel.content_row)
        while True:
            await self.goto(ctx.page, CONTENT_PATH)
            # Rows may render after load, and a logged-out page moves to /login a moment
            # later: reading at once could say "not posted" for a post that is there.
            await studio.wait_for(
                "for the content page", lambda: _any(rows), CONTENT_SETTLE_S, quiet=True
            )
            studio.require_session()
            found = cast(
                list[dict[str, str]], await rows.evaluate_all(_ROWS_JS, self.sel.content_link)
            )
            for row in found:
                if marker in row["text"] and row["href"]:
                    return urljoin(self._base + "/", row["href"])
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(2)  # TikTok lists a new post after processing; reload to see it

    async def _pause(self, deadline: float, low: float, high: float) -> None:
        wait = min(self._rng.uniform(low, high), deadline - time.monotonic())
        if wait > 0:
            await asyncio.sleep(wait)


async def _enabled(post: Locator) -> bool:
    """The post button is enabled once TikTok has the whole file."""
    button = post.first
    for attribute in ("data-disabled", "aria-disabled"):
        if await button.get_attribute(attribute, timeout=ACT_MS) == "false":
            return True
    return False


async def _any(locator: Locator) -> bool:
    return await locator.count() > 0


async def _close(page: Page, popover: Locator) -> None:
    """Close the hashtag suggestions with Escape (Enter would pick one)."""
    if await visible(popover):
        await page.keyboard.press("Escape")

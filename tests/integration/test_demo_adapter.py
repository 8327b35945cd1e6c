"""DemoAdapter against the real demo site in a real Chromium."""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Route

from automation.errors import (
    BrowserCrashed,
    LoginRequired,
    TransientSiteError,
    UploadRejected,
    VerificationRequired,
)
from automation.sites.base import AskHuman, Credentials, ItemContext, VideoToUpload, masks
from automation.sites.demo.adapter import DemoAdapter
from automation.sites.demo.samples import sample_video_bytes
from automation.sites.demo.server import DemoSite, DemoSiteOptions
from tests.helpers import no_human

# One Chromium for the module keeps the file fast; every test gets its own site and contexts.
pytestmark = pytest.mark.asyncio(loop_scope="module")


class Harness:
    """A running demo site, an adapter for it, and browser contexts closed at the end."""

    def __init__(self, browser: Browser, stack: AsyncExitStack) -> None:
        self.browser = browser
        self.stack = stack
        self.site: DemoSite
        self.adapter: DemoAdapter
        self.http: aiohttp.ClientSession

    async def start(self, **options: Any) -> Harness:
        opts = DemoSiteOptions(**{"seed": 3, "processing_s": 0.3, **options})
        self.site = await self.stack.enter_async_context(DemoSite(opts))
        self.adapter = DemoAdapter(self.site.url, rng=random.Random(5))
        return self

    async def context(self, **kwargs: Any) -> BrowserContext:
        context = await self.browser.new_context(**kwargs)
        self.stack.push_async_callback(context.close)
        return context

    async def ctx(
        self,
        user: str = "demo1",
        password: str | None = "",
        ask_human: AskHuman = no_human,
        context: BrowserContext | None = None,
    ) -> ItemContext:
        context = context or await self.context()
        secret = f"pw-{user}" if password == "" else password
        return ItemContext(
            page=await context.new_page(),
            account_label=user,
            credentials=Credentials(user, secret),
            ask_human=ask_human,
        )

    async def api(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with aiohttp.ClientSession() as http:
            if body is None:
                async with http.get(self.site.url + path) as resp:
                    return await resp.json()
            async with http.post(self.site.url + path, json=body) as resp:
                return await resp.json()


@pytest_asyncio.fixture(loop_scope="module")
async def harness(browser: Browser) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    async with AsyncExitStack() as stack:

        async def make(**options: Any) -> Harness:
            return await Harness(browser, stack).start(**options)

        yield make


def video_file(tmp_path: Path, index: int = 1, data: bytes | None = None) -> VideoToUpload:
    data = sample_video_bytes(index) if data is None else data
    path = tmp_path / f"holiday-{index}.mp4"
    path.write_bytes(data)
    return VideoToUpload(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        caption=f"Day {index} at the beach",
        original_name=path.name,
    )


async def test_log_in_and_reuse_the_saved_session(harness: Callable[..., Any]) -> None:
    h = await harness()
    ctx = await h.ctx()
    assert await h.adapter.is_logged_in(ctx) is False
    await h.adapter.log_in(ctx)
    assert await h.adapter.is_logged_in(ctx) is True

    state = await ctx.page.context.storage_state()
    restored = await h.ctx(context=await h.context(storage_state=state))
    assert await h.adapter.is_logged_in(restored) is True
    # The same cookies do not count as another account's session.
    other = await h.ctx("demo2", context=await h.context(storage_state=state))
    assert await h.adapter.is_logged_in(other) is False


async def test_expired_session_is_noticed_and_logging_in_again_works(
    harness: Callable[..., Any], tmp_path: Path
) -> None:
    h = await harness()
    ctx = await h.ctx()
    await h.adapter.log_in(ctx)
    assert await h.adapter.is_logged_in(ctx) is True
    await h.api("/api/control", {"session_ttl_s": 0})  # every session is now too old
    assert await h.adapter.is_logged_in(ctx) is False
    with pytest.raises(TransientSiteError, match="session ended"):
        await h.adapter.find_post(ctx, video_file(tmp_path))

    await h.api("/api/control", {"session_ttl_s": 3600})
    await h.adapter.log_in(ctx)
    assert await h.adapter.is_logged_in(ctx) is True


async def test_wrong_or_missing_password_raises_login_required(
    harness: Callable[..., Any],
) -> None:
    h = await harness()
    with pytest.raises(LoginRequired, match="refused the username or password") as refused:
        await h.adapter.log_in(await h.ctx(password="hunter2-wrong"))
    assert "hunter2" not in str(refused.value)
    with pytest.raises(LoginRequired, match="no password"):
        await h.adapter.log_in(await h.ctx(password=None))


async def test_verification_code_from_the_human(harness: Callable[..., Any]) -> None:
    h = await harness(verify_users=frozenset({"demo4"}))
    questions: list[str] = []

    async def read_code(question: str) -> str:
        questions.append(question)
        return str((await h.api("/api/last-code?user=demo4"))["code"])

    ctx = await h.ctx("demo4", ask_human=read_code)
    await h.adapter.log_in(ctx)
    assert questions == ["Enter the 6-digit code the demo site sent to demo4"]
    assert await h.adapter.is_logged_in(ctx) is True


async def test_unanswered_or_wrong_code_raises_verification_required(
    harness: Callable[..., Any],
) -> None:
    h = await harness(verify_users=frozenset({"demo4"}))
    nobody = VerificationRequired("nobody answered")

    async def silent(question: str) -> str:
        raise nobody

    with pytest.raises(VerificationRequired) as raised:
        await h.adapter.log_in(await h.ctx("demo4", ask_human=silent))
    assert raised.value is nobody

    async def wrong(question: str) -> str:
        code = str((await h.api("/api/last-code?user=demo4"))["code"])
        return f"{(int(code) + 1) % 10**6:06d}"

    ctx = await h.ctx("demo4", ask_human=wrong)
    with pytest.raises(VerificationRequired, match="did not accept the code"):
        await h.adapter.log_in(ctx)
    assert await h.adapter.is_logged_in(ctx) is False


class EagerReader(random.Random):
    """A real generator whose coin always says "open a post" and whose pauses are shortest."""

    def random(self) -> float:
        return 0.0


async def test_warmup_browses_the_feed_until_the_deadline(harness: Callable[..., Any]) -> None:
    h = await harness()
    ctx = await h.ctx("demo2")
    await h.adapter.log_in(ctx)
    before = (await h.api("/api/stats"))["views"]["demo2"]
    adapter = DemoAdapter(h.site.url, rng=EagerReader(1))

    report = await adapter.warmup(ctx, 1.5)

    assert report.user == "demo2"
    assert report.scrolls >= 1
    assert report.posts_viewed >= 1
    assert 1.5 <= report.seconds < 3
    seen = (await h.api("/api/stats"))["views"]["demo2"]
    assert seen["feed"] > before["feed"]
    assert seen.get("post", 0) - before.get("post", 0) == report.posts_viewed
    assert ctx.page.url == f"{h.site.url}/feed"


async def test_warmup_with_no_time_still_checks_who_is_logged_in(
    harness: Callable[..., Any],
) -> None:
    h = await harness()
    ctx = await h.ctx("demo3")
    await h.adapter.log_in(ctx)
    started = time.monotonic()
    report = await h.adapter.warmup(ctx, 0)
    assert time.monotonic() - started < 3
    assert (report.user, report.posts_viewed, report.scrolls) == ("demo3", 0, 0)
    assert (await h.api("/api/stats"))["views"]["demo3"]["feed"] >= 2  # log_in + warmup


async def test_feed_loads_more_posts_when_scrolled(harness: Callable[..., Any]) -> None:
    h = await harness()
    ctx = await h.ctx()
    await h.adapter.log_in(ctx)
    articles = ctx.page.locator("#feed article.post")
    assert await articles.count() == 10
    for _ in range(5):
        await ctx.page.mouse.wheel(0, 2000)
    await ctx.page.wait_for_function(
        "document.querySelectorAll('#feed article.post').length > 10", timeout=5000
    )
    assert (await h.api("/api/stats"))["views"]["demo1"]["feed_api"] >= 1


async def test_upload_then_find_post(harness: Callable[..., Any], tmp_path: Path) -> None:
    h = await harness()
    ctx = await h.ctx()
    await h.adapter.log_in(ctx)
    video = video_file(tmp_path)
    assert await h.adapter.find_post(ctx, video) is None

    post = await h.adapter.upload(ctx, video)

    assert post.url.startswith(f"{h.site.url}/post/")
    assert post.already_posted is False
    found = await h.adapter.find_post(ctx, video)
    assert found is not None
    assert (found.url, found.already_posted) == (post.url, True)
    posts = (await h.api("/api/posts?user=demo1"))["posts"]
    assert len(posts) == 1
    assert posts[0]["sha256"] == video.sha256
    assert posts[0]["status"] == "ready"
    assert posts[0]["caption"] == video.caption
    assert posts[0]["title"] == f"holiday-1 [{video.marker}]"
    assert h.site.url + posts[0]["url"] == post.url
    assert await h.adapter.find_post(ctx, video_file(tmp_path, 2)) is None


@pytest.mark.parametrize(
    "href", ["@evil.example/post/1", "//evil.example/post/1", "https://evil.example/post/1"]
)
async def test_a_post_link_off_the_site_is_never_recorded(
    harness: Callable[..., Any], tmp_path: Path, href: str
) -> None:
    h = await harness()
    ctx = await h.ctx()
    await h.adapter.log_in(ctx)
    video = video_file(tmp_path)
    await h.adapter.upload(ctx, video)

    async def hostile_profile(route: Route) -> None:
        # The site (or someone controlling a post's markup) points the link elsewhere.
        response = await route.fetch()
        body = re.sub(r'href="/post/\d+"', f'href="{href}"', await response.text())
        await route.fulfill(response=response, body=body)

    await ctx.page.route("**/u/demo1", hostile_profile)
    with pytest.raises(UploadRejected, match="not a post on the site") as raised:
        await h.adapter.find_post(ctx, video)
    assert "evil" not in str(raised.value)


async def test_masks_hide_what_is_typed_into_credential_fields(
    harness: Callable[..., Any],
) -> None:
    h = await harness()
    ctx = await h.ctx()
    page = ctx.page
    await page.goto(h.site.url + "/login")
    box = await page.locator("form").first.bounding_box()
    assert box is not None
    shots = []
    for typed in ("a", "pw-much-longer-SECRET"):
        await page.locator("#username").fill(typed)
        await page.locator("#password").fill(typed)
        shots.append(
            (
                await page.screenshot(clip=box, mask=masks(page, h.adapter)),
                await page.screenshot(clip=box),
            )
        )
    assert shots[0][1] != shots[1][1]  # unmasked, the typing shows
    assert shots[0][0] == shots[1][0]  # masked, nothing typed can be seen
    assert {"#password", "#code"} <= set(DemoAdapter.mask_selectors)


@pytest.mark.parametrize(
    "seed",
    # The seeded fault rolls: 2 answers 500; 1 drops the connection, Chromium resends the
    # POST by itself and gets a 500; 4 drops every time.
    [2, 1, 4],
    ids=["answer-500", "dropped-then-resent", "always-dropped"],
)
async def test_lost_upload_answer_then_find_post_finds_the_one_post(
    harness: Callable[..., Any], tmp_path: Path, seed: int
) -> None:
    h = await harness(seed=seed)
    ctx = await h.ctx()
    await h.adapter.log_in(ctx)
    video = video_file(tmp_path)

    async def break_the_answer(route: Route) -> None:
        # The upload form is already shown; from now on the site stores posts but fails to
        # answer (a 500 or a dropped connection, as its seeded generator decides).
        if route.request.method == "POST":
            await h.api("/api/control", {"error_rate": 1.0})
        await route.continue_()

    await ctx.page.route("**/upload", break_the_answer)
    with pytest.raises(TransientSiteError, match=r"HTTP 500 on /upload|net::ERR_"):
        await h.adapter.upload(ctx, video)
    await ctx.page.unroute("**/upload")
    await h.api("/api/control", {"error_rate": 0.0})

    found = await h.adapter.find_post(ctx, video)  # what the runner does before a retry
    assert found is not None
    assert found.already_posted is True
    posts = (await h.api("/api/posts?user=demo1"))["posts"]
    assert [h.site.url + p["url"] for p in posts] == [found.url]
    assert posts[0]["sha256"] == video.sha256


async def test_non_video_file_is_rejected(harness: Callable[..., Any], tmp_path: Path) -> None:
    h = await harness()
    ctx = await h.ctx()
    await h.adapter.log_in(ctx)
    with pytest.raises(UploadRejected, match="Only MP4 or WebM videos are accepted"):
        await h.adapter.upload(ctx, video_file(tmp_path, data=b"just some text\n" * 100))
    assert (await h.api("/api/posts?user=demo1"))["posts"] == []


async def test_faulty_pages_map_to_transient_errors(harness: Callable[..., Any]) -> None:
    h = await harness()
    ctx = await h.ctx()
    await h.adapter.log_in(ctx)
    await h.api("/api/control", {"error_rate": 1.0})
    messages = []
    for _ in range(8):
        with pytest.raises(TransientSiteError) as raised:
            await h.adapter.is_logged_in(ctx)
        assert not isinstance(raised.value, BrowserCrashed)
        messages.append(str(raised.value))
    assert any("demo: HTTP 500 on /feed" in m for m in messages)
    assert any("net::ERR_" in m for m in messages)
    assert all("pw-demo1" not in m for m in messages)


async def test_slow_site_times_out_as_transient(harness: Callable[..., Any]) -> None:
    h = await harness(latency_ms=1500)
    adapter = DemoAdapter(h.site.url, navigation_timeout_ms=300)
    with pytest.raises(TransientSiteError, match="timed out while checking the session"):
        await adapter.is_logged_in(await h.ctx())


async def test_closed_browser_context_maps_to_browser_crashed(
    harness: Callable[..., Any],
) -> None:
    h = await harness()
    ctx = await h.ctx()
    await ctx.page.context.close()
    with pytest.raises(BrowserCrashed):
        await h.adapter.is_logged_in(ctx)

"""TikTokAdapter against the TikTok Studio replica in a real Chromium."""

from __future__ import annotations

import asyncio
import random
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser

from automation.config import TikTokSiteConfig
from automation.errors import (
    LoginRequired,
    RateLimited,
    SiteChanged,
    TransientSiteError,
    UploadRejected,
    VerificationRequired,
)
from automation.sites.base import AskHuman, Credentials, ItemContext
from automation.sites.tiktok.adapter import TikTokAdapter
from tests.helpers import no_human
from tests.tiktok_replica.harness import api, posts_of, session_state, video_file
from tests.tiktok_replica.server import TikTokReplica
from tests.tiktok_replica.state import SOMETHING_WENT_WRONG, ReplicaOptions

pytestmark = pytest.mark.asyncio(loop_scope="module")

POST_URL = re.compile(r"^http://127\.0\.0\.1:\d+/@(?P<handle>[\w.]+)/video/(?P<id>\d{19})$")


class Harness:
    """A running replica, an adapter pointed at it, and contexts closed at the end."""

    def __init__(self, browser: Browser, stack: AsyncExitStack) -> None:
        self.browser = browser
        self.stack = stack
        self.replica: TikTokReplica
        self.adapter: TikTokAdapter
        self.logged: list[str] = []

    async def start(self, config: dict[str, Any] | None = None, **options: Any) -> Harness:
        opts = ReplicaOptions(**{"upload_delay_s": 0.3, "seed": 11, **options})
        self.replica = await self.stack.enter_async_context(TikTokReplica(opts))
        self.configure(**(config or {}))
        return self

    def configure(self, **config: Any) -> None:
        site = TikTokSiteConfig(**{"base_url": self.replica.url, **config})
        self.adapter = TikTokAdapter(site, rng=random.Random(4), navigation_timeout_ms=10_000)

    @property
    def url(self) -> str:
        return self.replica.url

    async def ctx(
        self, handle: str = "brand1", *, session: bool = True, ask_human: AskHuman = no_human
    ) -> ItemContext:
        state = await session_state(self.url, handle) if session else None
        context = await self.browser.new_context(storage_state=state)  # type: ignore[arg-type]
        self.stack.push_async_callback(context.close)
        page = await context.new_page()
        return ItemContext(page, handle, Credentials(handle), ask_human, log=self.logged.append)


@pytest_asyncio.fixture(loop_scope="module")
async def harness(browser: Browser) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    async with AsyncExitStack() as stack:

        async def make(config: dict[str, Any] | None = None, **options: Any) -> Harness:
            return await Harness(browser, stack).start(config, **options)

        yield make


async def test_session_is_recognised_and_missing_or_expired_ones_are_not(
    harness: Callable[..., Any], tmp_path: Path
) -> None:
    h = await harness()
    assert await h.adapter.is_logged_in(await h.ctx()) is True
    no_cookie = await h.ctx(session=False)
    assert await h.adapter.is_logged_in(no_cookie) is False
    expired = await h.ctx()
    await api(h.url, "/api/expire", {})
    assert await h.adapter.is_logged_in(expired) is False  # the late redirect to /login
    assert "/login" in expired.page.url
    with pytest.raises(LoginRequired, match="does not type TikTok passwords") as raised:
        await h.adapter.log_in(expired)
    assert "fleetbot accounts login brand1" in str(raised.value)
    assert "/session brand1" in str(raised.value)
    # Looking for a post with a dead session is not "not posted": it says log in.
    with pytest.raises(LoginRequired, match="login page"):
        await h.adapter.find_post(expired, video_file(tmp_path))


@pytest.mark.parametrize("layout", ["plain", "iframe"])
async def test_upload_through_popups_posts_once_and_returns_the_post_url(
    harness: Callable[..., Any], tmp_path: Path, layout: str
) -> None:
    h = await harness(layout=layout, popup_chance=1.0)
    ctx = await h.ctx("brand1")
    assert await h.adapter.is_logged_in(ctx)
    video = video_file(tmp_path, caption="Sunset run #summer")
    dialogs: list[str] = []
    ctx.page.on("dialog", lambda dialog: dialogs.append(dialog.type))
    post = await h.adapter.upload(ctx, video)
    assert dialogs == ["beforeunload"]  # "Leave site?" held the redirect until accepted

    match = POST_URL.match(post.url)
    assert match, post.url
    assert match["handle"] == "brand1"
    assert post.already_posted is False
    [stored] = await posts_of(h.url, "brand1")
    assert stored["id"] == match["id"]
    # The file name TikTok pre-fills is gone; the hashtag stayed exact (no suggestion picked).
    assert stored["caption"] == f"Sunset run #summer {video.marker}"
    assert stored["size"] == video.path.stat().st_size
    # Every popup was planned (chance 1.0), so each one was met and dismissed on the way.
    dismissed = {line for line in h.logged if line.startswith("tiktok: dismissed")}
    assert dismissed == {
        f"tiktok: dismissed the {name} popup"
        for name in (
            "cookie banner",
            "new features",
            "tutorial",
            "content checks",
            "continue to post",
        )
    }

    again = await h.adapter.find_post(await h.ctx("brand1"), video)
    assert again is not None
    assert (again.url, again.already_posted) == (post.url, True)
    assert await h.adapter.find_post(await h.ctx("brand2"), video) is None


async def test_caption_with_a_trailing_hashtag_and_a_chosen_visibility(
    harness: Callable[..., Any], tmp_path: Path
) -> None:
    h = await harness({"visibility": "only_you"}, popups=False)
    video = video_file(tmp_path, 2, caption="Line one\n#travel")
    await h.adapter.upload(await h.ctx(), video)
    [stored] = await posts_of(h.url, "brand1")
    assert stored["visibility"] == "only_you"
    assert stored["caption"].split() == ["Line", "one", "#travel", video.marker]


async def test_captcha_goes_to_the_human_and_unanswered_it_fails_as_verification(
    harness: Callable[..., Any], tmp_path: Path
) -> None:
    h = await harness(captcha=True)
    asked: list[str] = []

    async def silent(question: str) -> str:
        asked.append(question)
        raise VerificationRequired("nobody answered the verification prompt")

    with pytest.raises(VerificationRequired, match="nobody answered"):
        await h.adapter.upload(await h.ctx(ask_human=silent), video_file(tmp_path))
    assert len(asked) == 1
    assert "captcha" in asked[0]

    async def done(question: str) -> str:
        return "done"

    with pytest.raises(VerificationRequired, match="does not solve captchas"):
        await h.adapter.upload(await h.ctx(ask_human=done), video_file(tmp_path))
    assert await posts_of(h.url, "brand1") == []


async def test_something_went_wrong_is_an_upload_rejected_with_the_sites_text(
    harness: Callable[..., Any], tmp_path: Path
) -> None:
    h = await harness(something_wrong=True)
    with pytest.raises(UploadRejected) as raised:
        await h.adapter.upload(await h.ctx(), video_file(tmp_path))
    assert SOMETHING_WENT_WRONG in str(raised.value)
    assert "Maximum size" not in str(raised.value)
    assert await posts_of(h.url, "brand1") == []


async def test_too_many_attempts_is_rate_limited_with_the_configured_cool_down(
    harness: Callable[..., Any], tmp_path: Path
) -> None:
    h = await harness({"rate_limit_cooldown_s": 7200}, rate_limit=True)
    with pytest.raises(RateLimited, match="Too many uploading attempts") as raised:
        await h.adapter.upload(await h.ctx(), video_file(tmp_path))
    assert raised.value.cooldown_s == 7200
    assert h.replica.state.upload_attempts == 1


# 0 s: the upload fails before any poll can see the form (the select step simply stays).
@pytest.mark.parametrize("delay_s", [0.0, 0.3])
async def test_a_returning_select_button_is_a_failed_upload_worth_retrying(
    harness: Callable[..., Any], tmp_path: Path, delay_s: float
) -> None:
    h = await harness(upload_fails=True, popups=False, upload_delay_s=delay_s)
    with pytest.raises(TransientSiteError, match="Select video' button came back"):
        await h.adapter.upload(await h.ctx(), video_file(tmp_path))
    # The helper text is always on the page and is not taken for an error.
    assert await h.adapter.find_post(await h.ctx(), video_file(tmp_path)) is None


async def test_session_expiring_mid_upload_is_login_required(
    harness: Callable[..., Any], tmp_path: Path
) -> None:
    h = await harness(upload_delay_s=1.5, popups=False)
    ctx = await h.ctx()
    upload = asyncio.create_task(h.adapter.upload(ctx, video_file(tmp_path)))
    async with asyncio.timeout(30):
        await h.replica.state.upload_started.wait()  # the file is on its way
    h.replica.state.expire_sessions()
    with pytest.raises(LoginRequired, match="login page"):
        await upload
    assert await posts_of(h.url, "brand1") == []


async def test_renamed_post_button_names_its_config_key_and_an_override_fixes_it(
    harness: Callable[..., Any], tmp_path: Path
) -> None:
    h = await harness(drift=True, popups=False)
    with pytest.raises(SiteChanged, match=r"post_button") as raised:
        await h.adapter.upload(await h.ctx(), video_file(tmp_path))
    assert "[sites.tiktok.selectors] post_button" in str(raised.value)

    h.configure(selectors={"post_button": 'button[data-e2e="post_video_btn"]'})
    post = await h.adapter.upload(await h.ctx(), video_file(tmp_path))
    assert POST_URL.match(post.url)


async def test_warmup_watches_the_feed_without_touching_anything(
    harness: Callable[..., Any],
) -> None:
    h = await harness()
    report = await h.adapter.warmup(await h.ctx(), 6)
    assert report.user == "brand1"
    assert report.posts_viewed >= 1
    assert report.posts_viewed <= report.scrolls + 1
    assert 6 <= report.seconds < 30
    assert await posts_of(h.url, "brand1") == []


async def test_an_unreachable_site_is_a_transient_error(
    harness: Callable[..., Any], tmp_path: Path
) -> None:
    h = await harness()
    ctx = await h.ctx()
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    h.configure(base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(TransientSiteError, match="network error net::ERR_CONNECTION_REFUSED"):
        await h.adapter.find_post(ctx, video_file(tmp_path))

"""The demo site over real HTTP: logins, codes, expiry, uploads, processing, faults, knobs."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from automation.sites.demo.samples import sample_video_bytes, write_sample_videos
from automation.sites.demo.server import DemoSite, DemoSiteOptions, serve_forever

StartSite = Callable[..., Awaitable[DemoSite]]


@pytest.fixture
async def start_site() -> AsyncIterator[StartSite]:
    async with AsyncExitStack() as stack:

        async def start(**options: Any) -> DemoSite:
            site = DemoSite(DemoSiteOptions(**{"seed": 7, **options}))
            return await stack.enter_async_context(site)

        yield start


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # unsafe=True: aiohttp's jar otherwise ignores cookies set by an IP-address host.
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        yield session


async def login(http: aiohttp.ClientSession, site: DemoSite, user: str, password: str) -> str:
    async with http.post(
        f"{site.url}/login",
        data={"username": user, "password": password},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 303, await resp.text()
        return resp.headers["Location"]


async def page(http: aiohttp.ClientSession, site: DemoSite, path: str) -> tuple[int, str, str]:
    """GET path without following redirects: (status, Location or "", body)."""
    async with http.get(f"{site.url}{path}", allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Location", ""), await resp.text()


async def api(http: aiohttp.ClientSession, site: DemoSite, path: str) -> Any:
    async with http.get(f"{site.url}{path}") as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def upload(
    http: aiohttp.ClientSession,
    site: DemoSite,
    data: bytes | None,
    title: str = "clip",
    form_id: str = "",
) -> aiohttp.ClientResponse:
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("form_id", form_id)
    form.add_field("title", title)
    form.add_field("caption", "a caption")
    if data is not None:
        form.add_field("video", data, filename="clip.mp4", content_type="video/mp4")
    async with http.post(f"{site.url}/upload", data=form, allow_redirects=False) as resp:
        await resp.read()
        return resp


async def test_entering_twice_is_refused() -> None:
    site = DemoSite(DemoSiteOptions(users=1, feed_size=0))
    async with site:
        assert site.url.startswith("http://127.0.0.1:")
        assert not site.url.endswith(":0")
        with pytest.raises(RuntimeError, match="already started"):
            await site.__aenter__()
    with pytest.raises(RuntimeError, match="already started"):
        await site.__aenter__()


async def test_a_taken_port_fails_cleanly(start_site: StartSite) -> None:
    site = await start_site()
    port = int(site.url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        async with DemoSite(DemoSiteOptions(users=1, feed_size=0), port=port):
            pass


async def test_serve_forever_reports_its_url_and_stops_when_cancelled(
    http: aiohttp.ClientSession,
) -> None:
    ready: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(
        serve_forever(DemoSiteOptions(users=1), "127.0.0.1", 0, on_ready=ready.put_nowait)
    )
    url = await asyncio.wait_for(ready.get(), timeout=5)
    async with http.get(f"{url}/api/health") as resp:
        assert await resp.json() == {"ok": True}
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.get(f"{url}/api/health"):
            pass


async def test_pages_need_login_and_login_sets_an_httponly_cookie(
    start_site: StartSite, http: aiohttp.ClientSession
) -> None:
    site = await start_site()
    assert (await page(http, site, "/"))[:2] == (302, "/feed")
    assert (await page(http, site, "/feed"))[:2] == (302, "/login")
    status, _, body = await page(http, site, "/login")
    assert status == 200
    for marker in ('id="login-form"', 'id="username"', 'type="password"', 'id="login-submit"'):
        assert marker in body

    async with http.post(
        f"{site.url}/login",
        data={"username": "demo3", "password": "pw-demo3"},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/feed"
        cookie = resp.cookies["sid"]
        assert cookie["httponly"]
        assert len(cookie.value) >= 20

    status, _, body = await page(http, site, "/feed")
    assert status == 200
    assert '<span id="whoami" data-user="demo3">demo3</span>' in body
    assert body.count('<article class="post"') == 10
    assert 'id="feed-more" data-next-offset="10"' in body


async def test_wrong_password_shows_the_error_and_no_session(
    start_site: StartSite, http: aiohttp.ClientSession
) -> None:
    site = await start_site()
    async with http.post(
        f"{site.url}/login", data={"username": "demo1", "password": "nope"}
    ) as resp:
        body = await resp.text()
        assert resp.status == 401
    assert '<div id="error" class="error">Wrong username or password</div>' in body
    assert 'id="login-form"' in body
    assert (await page(http, site, "/feed"))[:2] == (302, "/login")


async def test_session_expires_after_its_ttl(
    start_site: StartSite, http: aiohttp.ClientSession
) -> None:
    site = await start_site(session_ttl_s=0.5)
    logged_in_at = time.monotonic()
    await login(http, site, "demo1", "pw-demo1")
    assert (await page(http, site, "/feed"))[0] == 200

    expired_after = None
    for _ in range(200):  # polls the condition for at most ~5 s
        status, location, _ = await page(http, site, "/feed")
        if status == 302 and location == "/login":
            expired_after = time.monotonic() - logged_in_at
            break
        await asyncio.sleep(0.025)
    assert expired_after is not None, "the session never expired"
    assert expired_after >= 0.5


async def test_verification_code_flow(start_site: StartSite, http: aiohttp.ClientSession) -> None:
    site = await start_site(verify_users=frozenset({"demo2"}))
    async with http.get(f"{site.url}/api/last-code", params={"user": "demo2"}) as resp:
        assert resp.status == 404
        assert "error" in await resp.json()

    assert await login(http, site, "demo2", "pw-demo2") == "/verify"
    assert (await page(http, site, "/feed"))[:2] == (302, "/verify")
    status, _, body = await page(http, site, "/verify")
    assert status == 200
    assert 'id="verify-form"' in body
    assert "sent a 6-digit code" in body

    code = (await api(http, site, "/api/last-code?user=demo2"))["code"]
    assert len(code) == 6
    assert code.isdigit()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    async with http.post(f"{site.url}/verify", data={"code": wrong}) as resp:
        assert 'id="error"' in await resp.text()
    assert (await page(http, site, "/feed"))[:2] == (302, "/verify")

    async with http.post(f"{site.url}/verify", data={"code": code}, allow_redirects=False) as resp:
        assert (resp.status, resp.headers["Location"]) == (303, "/feed")
    status, _, body = await page(http, site, "/feed")
    assert status == 200
    assert 'data-user="demo2"' in body


async def test_accepted_upload_is_processed_then_shown(
    start_site: StartSite, http: aiohttp.ClientSession
) -> None:
    site = await start_site(processing_s=0.3)
    await login(http, site, "demo1", "pw-demo1")
    data = sample_video_bytes(1)
    resp = await upload(http, site, data, title="my clip")
    assert resp.status == 303
    processing_url = resp.headers["Location"]
    post_id = int(processing_url.rsplit("/", 1)[1])

    posts = (await api(http, site, "/api/posts?user=demo1"))["posts"]
    assert [(p["id"], p["url"], p["status"]) for p in posts] == [
        (post_id, f"/post/{post_id}", "processing")
    ]
    assert posts[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert posts[0]["title"] == "my clip"
    status, _, body = await page(http, site, processing_url)
    assert status == 200
    assert 'id="processing"' in body
    profile = (await page(http, site, "/u/demo1"))[2]
    assert f'<section id="posts"><article class="post" data-post-id="{post_id}"' not in profile
    assert 'id="pending"' in profile  # the owner sees it is still processing

    for _ in range(100):  # at most ~5 s
        status, location, _ = await page(http, site, processing_url)
        if status == 302:
            break
        await asyncio.sleep(0.05)
    assert location == f"/post/{post_id}"
    status, _, body = await page(http, site, location)
    assert status == 200
    assert '<span id="post-status">ready</span>' in body
    assert '<h1 id="post-title">my clip</h1>' in body
    profile = (await page(http, site, "/u/demo1"))[2]
    assert f'<section id="posts"><article class="post" data-post-id="{post_id}"' in profile
    assert 'id="pending"' not in profile
    assert (await api(http, site, "/api/posts?user=demo1"))["posts"][0]["status"] == "ready"
    feed = (await api(http, site, "/api/feed?offset=0&limit=1"))["posts"]
    assert feed[0]["id"] == post_id


async def test_a_resent_form_makes_one_post(
    start_site: StartSite, http: aiohttp.ClientSession
) -> None:
    site = await start_site()
    await login(http, site, "demo1", "pw-demo1")
    body = (await page(http, site, "/upload"))[2]
    form_id = body.split('name="form_id" value="', 1)[1].split('"', 1)[0]
    assert len(form_id) >= 12
    assert form_id not in (await page(http, site, "/upload"))[2]  # one id per form shown

    first = await upload(http, site, sample_video_bytes(1), form_id=form_id)
    again = await upload(http, site, sample_video_bytes(1), form_id=form_id)
    assert first.headers["Location"] == again.headers["Location"]
    assert len((await api(http, site, "/api/posts?user=demo1"))["posts"]) == 1
    other = await upload(http, site, sample_video_bytes(1), form_id=form_id + "x")
    assert other.headers["Location"] != first.headers["Location"]
    assert len((await api(http, site, "/api/posts?user=demo1"))["posts"]) == 2


async def test_webm_is_accepted(start_site: StartSite, http: aiohttp.ClientSession) -> None:
    site = await start_site()
    await login(http, site, "demo1", "pw-demo1")
    resp = await upload(http, site, b"\x1a\x45\xdf\xa3" + b"\x00" * 100)
    assert resp.status == 303


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (None, 400, "Choose a video file"),
        (b"", 400, "Choose a video file"),
        (b"GIF89a" + b"\x00" * 100, 400, "Only MP4 or WebM"),
        (sample_video_bytes(2, size=5000), 413, "larger than"),
    ],
    ids=["no-field", "empty-file", "not-a-video", "too-big"],
)
async def test_bad_uploads_are_refused(
    start_site: StartSite,
    http: aiohttp.ClientSession,
    data: bytes | None,
    status: int,
    message: str,
) -> None:
    site = await start_site(max_upload_bytes=4096)
    await login(http, site, "demo1", "pw-demo1")
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("title", "t")
    if data is not None:
        form.add_field("video", data, filename="x.mp4", content_type="video/mp4")
    async with http.post(f"{site.url}/upload", data=form) as resp:
        body = await resp.text()
        assert resp.status == status
    assert 'id="error"' in body
    assert message in body
    assert 'id="upload-form"' in body
    assert (await api(http, site, "/api/posts?user=demo1"))["posts"] == []


async def test_oversized_upload_is_refused_before_the_body_ends(
    start_site: StartSite, http: aiohttp.ClientSession
) -> None:
    site = await start_site(max_upload_bytes=64 * 1024)
    await login(http, site, "demo1", "pw-demo1")
    answered = asyncio.Event()
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield sample_video_bytes(3, size=64 * 1024)
        # Keep sending until the site has answered; an unbounded reader would never answer.
        while not answered.is_set() and sent < 64 * 1024 * 1024:
            sent += 64 * 1024
            yield b"\x00" * 64 * 1024
            await asyncio.sleep(0)

    with aiohttp.MultipartWriter("form-data") as mp:
        part = mp.append(endless(), {"Content-Type": "video/mp4"})
        part.set_content_disposition("form-data", name="video", filename="big.mp4")
    try:
        async with http.post(f"{site.url}/upload", data=mp) as resp:
            answered.set()
            assert resp.status == 413
    except aiohttp.ClientError:
        pytest.fail("the site dropped the connection instead of answering 413")
    assert sent < 64 * 1024 * 1024
    assert (await api(http, site, "/api/posts?user=demo1"))["posts"] == []


async def test_unknown_post_and_user_are_404(
    start_site: StartSite, http: aiohttp.ClientSession
) -> None:
    site = await start_site()
    await login(http, site, "demo1", "pw-demo1")
    assert (await page(http, site, "/post/999999"))[0] == 404
    assert (await page(http, site, "/post/abc"))[0] == 404
    assert (await page(http, site, "/u/nobody"))[0] == 404
    async with http.get(f"{site.url}/api/posts", params={"user": "nobody"}) as resp:
        assert resp.status == 404


async def test_feed_api_pages_through_a_seeded_feed(
    start_site: StartSite, http: aiohttp.ClientSession
) -> None:
    site = await start_site(feed_size=25, users=3)
    twin = await start_site(feed_size=25, users=3)
    titles: list[str] = []
    offset: int | None = 0
    while offset is not None:
        chunk = await api(http, site, f"/api/feed?offset={offset}&limit=10")
        titles += [p["title"] for p in chunk["posts"]]
        assert {p["author"] for p in chunk["posts"]} <= {"demo1", "demo2", "demo3"}
        offset = chunk["next_offset"]
    assert len(titles) == 25
    twin_chunk = await api(http, twin, "/api/feed?offset=0&limit=25")
    assert [p["title"] for p in twin_chunk["posts"]] == titles


async def test_error_rate_faults_pages_but_never_the_api(
    start_site: StartSite, http: aiohttp.ClientSession
) -> None:
    site = await start_site()
    await login(http, site, "demo1", "pw-demo1")
    async with http.post(f"{site.url}/api/control", json={"error_rate": 1.0}) as resp:
        assert (await resp.json())["error_rate"] == 1.0

    outcomes: list[int | str] = []
    for _ in range(20):
        try:
            status = (await page(http, site, "/feed"))[0]
            outcomes.append(status)
        except aiohttp.ClientError:
            outcomes.append("dropped")
    assert set(outcomes) == {500, "dropped"}
    for path in ("/api/health", "/api/posts?user=demo1", "/api/feed", "/api/stats"):
        await api(http, site, path)


async def test_lost_upload_answer_still_stores_the_post(
    start_site: StartSite, http: aiohttp.ClientSession
) -> None:
    site = await start_site()
    await login(http, site, "demo1", "pw-demo1")
    async with http.post(f"{site.url}/api/control", json={"error_rate": 1.0}):
        pass
    for index in range(1, 5):
        try:
            response = await upload(http, site, sample_video_bytes(index), form_id=str(index))
            status: int | str = response.status
        except aiohttp.ClientError:
            status = "dropped"
        assert status in (500, "dropped")
        posts = (await api(http, site, "/api/posts?user=demo1"))["posts"]
        assert len(posts) == index
        assert posts[0]["sha256"] == hashlib.sha256(sample_video_bytes(index)).hexdigest()


async def test_control_changes_knobs_and_validates(
    start_site: StartSite, http: aiohttp.ClientSession
) -> None:
    site = await start_site()
    async with http.get(f"{site.url}/api/control") as resp:
        assert await resp.json() == {"latency_ms": 0, "error_rate": 0.0, "session_ttl_s": 3600}
    for bad in ({"error_rate": 2}, {"latency_ms": -1}, {"nope": 1}, {"session_ttl_s": "x"}):
        async with http.post(f"{site.url}/api/control", json=bad) as resp:
            assert resp.status == 400
    async with http.post(f"{site.url}/api/control", data=b"not json") as resp:
        assert resp.status == 400

    async with http.post(
        f"{site.url}/api/control", json={"latency_ms": 300, "session_ttl_s": 5}
    ) as resp:
        assert await resp.json() == {"latency_ms": 300, "error_rate": 0.0, "session_ttl_s": 5.0}
    started = time.monotonic()
    assert (await api(http, site, "/api/health")) == {"ok": True}
    assert time.monotonic() - started >= 0.3


async def test_control_ttl_ends_existing_sessions(
    start_site: StartSite, http: aiohttp.ClientSession
) -> None:
    site = await start_site()
    await login(http, site, "demo1", "pw-demo1")
    assert (await page(http, site, "/feed"))[0] == 200
    async with http.post(f"{site.url}/api/control", json={"session_ttl_s": 0}):
        pass
    assert (await page(http, site, "/feed"))[:2] == (302, "/login")


def test_samples_look_like_distinct_mp4s(tmp_path: Path) -> None:
    first, second = sample_video_bytes(1), sample_video_bytes(2)
    assert first[4:8] == second[4:8] == b"ftyp"
    assert len(first) == 64 * 1024
    assert hashlib.sha256(first).digest() != hashlib.sha256(second).digest()
    assert sample_video_bytes(1) == first
    assert len(sample_video_bytes(5, size=100)) == 100
    with pytest.raises(ValueError, match="at least"):
        sample_video_bytes(1, size=10)
    paths = write_sample_videos(tmp_path / "videos", 3)
    assert [p.name for p in paths] == ["sample-1.mp4", "sample-2.mp4", "sample-3.mp4"]
    assert paths[1].read_bytes() == second

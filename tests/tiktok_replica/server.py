"""The replica's aiohttp app: login (QR), For You feed, TikTok Studio upload and content pages.

Test API (not part of TikTok): ``POST /api/sessions {"handle"}`` makes a ``sessionid``;
``GET /api/posts?handle=`` lists posts; ``POST /api/control {...}`` flips the knobs of
``ReplicaOptions``; ``POST /api/expire`` ends every session; ``POST /api/scan {"handle"}``
is the human scanning the login QR code with their phone.
"""

from __future__ import annotations

import asyncio
import functools
import html
import json
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from aiohttp import web

from tests.tiktok_replica.state import (
    DRIFTED_POST_E2E,
    SOMETHING_WENT_WRONG,
    TOO_MANY_ATTEMPTS,
    ReplicaOptions,
    ReplicaState,
)

STATIC = Path(__file__).parent / "static"
STATE = web.AppKey("state", ReplicaState)
FEED_SIZE = 40


def _state(request: web.Request) -> ReplicaState:
    return request.app[STATE]


def _handle(request: web.Request) -> str | None:
    return _state(request).handle_of(request.cookies.get("sessionid"))


def _page(title: str, body: str, config: dict[str, Any] | None = None) -> web.Response:
    script = ""
    if config is not None:
        script = (
            f"<script>window.REPLICA = {json.dumps(config)};</script>"
            '<script src="/static/popups.js"></script>'
        )
    doc = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{html.escape(title)}</title><link rel="stylesheet" href="/static/replica.css">'
        f"</head><body>{body}{script}</body></html>"
    )
    return web.Response(text=doc, content_type="text/html")


def _logged_out(request: web.Request) -> web.Response:
    """What a Studio page does without a session: load, then go to /login a moment later."""
    target = "/login?redirect_url=" + quote(str(request.rel_url), safe="")
    delay = _state(request).options.login_redirect_ms
    body = (
        '<div class="loading">Loading…</div>'
        f"<script>setTimeout(() => {{ window.top.location.href = {json.dumps(target)}; }},"
        f" {int(delay)});</script>"
    )
    return _page("TikTok Studio", body)


def _form_config(request: web.Request) -> dict[str, Any]:
    state = _state(request)
    return {
        "popups": state.popup_plan(),
        "captcha": state.options.captcha,
        "form": True,
    }


@functools.cache
def _form_template() -> str:
    return (STATIC / "upload_form.html").read_text(encoding="utf-8")


def _upload_form(request: web.Request) -> str:
    e2e = DRIFTED_POST_E2E if _state(request).options.drift else "post_video_button"
    return _form_template().replace("{{POST_E2E}}", e2e)


async def upload_page(request: web.Request) -> web.Response:
    """/tiktokstudio/upload (and the old /creator-center/upload): the form or its iframe."""
    if _handle(request) is None:
        return _logged_out(request)
    state = _state(request)
    if state.options.layout == "iframe":
        body = (
            '<iframe data-tt="Upload_index_iframe" src="/creator-center/upload-frame?lang=en"'
            ' style="width:100%;height:95vh;border:0"></iframe>'
        )
        return _page("TikTok Studio", body, {"popups": [], "captcha": state.options.captcha})
    return _page("TikTok Studio", _upload_form(request), _form_config(request))


async def upload_frame(request: web.Request) -> web.Response:
    """The iframe's document in the pre-mid-2024 layout."""
    if _handle(request) is None:
        return _logged_out(request)
    config = _form_config(request) | {"captcha": False}
    return _page("Upload", _upload_form(request), config)


async def upload_file(request: web.Request) -> web.Response:
    """The file's bytes, sent by the page once chosen; answered when the "upload" is done."""
    state = _state(request)
    handle = _handle(request)
    size = len(await request.read())
    if handle is None:
        return web.json_response({"error": "login"}, status=401)
    state.upload_attempts += 1
    state.upload_started.set()
    if state.options.rate_limit:
        return web.json_response({"error": TOO_MANY_ATTEMPTS}, status=429)
    await asyncio.sleep(state.options.upload_delay_s)
    if state.options.upload_fails:
        return web.json_response({"error": ""}, status=500)
    video_id = state.new_id()
    state.uploads[video_id] = (handle, size)
    return web.json_response({"video_id": video_id})


async def publish(request: web.Request) -> web.Response:
    """Post the uploaded video with its caption."""
    state = _state(request)
    handle = _handle(request)
    body = await request.json()
    if handle is None:
        return web.json_response({"error": "login"}, status=401)
    if state.options.something_wrong:
        return web.json_response({"error": SOMETHING_WENT_WRONG}, status=500)
    owner, size = state.uploads.pop(str(body.get("video_id")), (None, 0))
    if owner != handle:
        return web.json_response({"error": SOMETHING_WENT_WRONG}, status=400)
    post = state.add_post(handle, str(body.get("caption", "")), str(body.get("visibility")), size)
    await asyncio.sleep(state.options.post_response_delay_s)
    return web.json_response({"post_id": post.id})


async def content_page(request: web.Request) -> web.Response:
    """/tiktokstudio/content: the account's posts in a table whose rows link to the video."""
    handle = _handle(request)
    if handle is None:
        return _logged_out(request)
    base = f"{request.scheme}://{request.host}"
    rows = "".join(
        f'<tr><td><a href="{base}/@{quote(p.handle)}/video/{p.id}">'
        f"{html.escape(p.caption)}</a></td><td>{html.escape(p.visibility)}</td><td>0</td></tr>"
        for p in _state(request).posts_of(handle)
    )
    body = (
        "<h1>Posts</h1><table><thead><tr><th>Post</th><th>Privacy</th><th>Views</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )
    return _page("TikTok Studio", body, {"popups": [], "captcha": False})


async def video_page(request: web.Request) -> web.Response:
    """/@handle/video/ID: a post's own page."""
    vid = request.match_info["video_id"]
    post = next((p for p in _state(request).posts if p.id == vid), None)
    if post is None or post.handle != request.match_info["handle"]:
        raise web.HTTPNotFound()
    return _page(post.handle, f"<video></video><p>{html.escape(post.caption)}</p>", None)


async def feed_page(request: web.Request) -> web.Response:
    """/foryou: one video per screen; the next one comes with a scroll or ArrowDown."""
    items = "".join(
        f'<section data-e2e="recommend-list-item-container" data-video-id="{n}">'
        f'<video muted loop playsinline></video><p class="desc">video {n}</p></section>'
        for n in range(1, FEED_SIZE + 1)
    )
    return _page("For You", f'<main class="feed">{items}</main>', {"popups": [], "captcha": False})


async def login_page(request: web.Request) -> web.Response:
    """/login: a QR code the human scans with the app; the page polls until it is scanned."""
    token = _state(request).new_id()
    _state(request).qr_waiting[token] = None
    _state(request).login_shown.set()
    body = (
        '<h1>Log in to TikTok</h1><div class="qr">[QR code]</div>'
        "<p>Scan with the TikTok app</p>"
        f"<script>window.QR_TOKEN = {json.dumps(token)};</script>"
        '<script src="/static/login.js"></script>'
    )
    return _page("Log in | TikTok", body)


async def login_poll(request: web.Request) -> web.Response:
    """The login page's poll: sets ``sessionid`` (HttpOnly) once the code was scanned."""
    state = _state(request)
    token = request.query.get("token", "")
    handle = state.qr_waiting.get(token)
    if handle is None:
        return web.json_response({"status": "waiting"})
    del state.qr_waiting[token]
    response = web.json_response({"status": "confirmed"})
    response.set_cookie("sessionid", state.new_session(handle), httponly=True, path="/")
    return response


async def api_sessions(request: web.Request) -> web.Response:
    """Test API: a new session for a handle."""
    body = await request.json()
    return web.json_response({"sessionid": _state(request).new_session(str(body["handle"]))})


async def api_posts(request: web.Request) -> web.Response:
    """Test API: one handle's posts."""
    posts = _state(request).posts_of(request.query["handle"])
    return web.json_response({"posts": [p.__dict__ for p in posts]})


async def api_control(request: web.Request) -> web.Response:
    """Test API: change knobs at run time."""
    try:
        _state(request).options.update(await request.json())
    except KeyError as exc:
        raise web.HTTPBadRequest(text=f"unknown knob {exc}") from None
    return web.json_response({"ok": True})


async def api_expire(request: web.Request) -> web.Response:
    """Test API: end every session."""
    _state(request).expire_sessions()
    return web.json_response({"ok": True})


async def api_scan(request: web.Request) -> web.Response:
    """Test API: the human scans every waiting QR code as this handle."""
    body = await request.json()
    state = _state(request)
    for token in state.qr_waiting:
        state.qr_waiting[token] = str(body["handle"])
    return web.json_response({"scanned": len(state.qr_waiting)})


def create_app(options: ReplicaOptions) -> web.Application:
    """The replica as an aiohttp application."""
    app = web.Application(client_max_size=64 * 1024**2)
    app[STATE] = ReplicaState(options)
    app.router.add_get("/", feed_page)
    app.router.add_get("/foryou", feed_page)
    app.router.add_get("/login", login_page)
    app.router.add_get("/passport/web/qr/poll", login_poll)
    app.router.add_get("/tiktokstudio/upload", upload_page)
    app.router.add_get("/creator-center/upload", upload_page)
    app.router.add_get("/creator-center/upload-frame", upload_frame)
    app.router.add_post("/tiktokstudio/api/upload", upload_file)
    app.router.add_post("/tiktokstudio/api/post", publish)
    app.router.add_get("/tiktokstudio/content", content_page)
    app.router.add_get("/@{handle}/video/{video_id}", video_page)
    app.router.add_post("/api/sessions", api_sessions)
    app.router.add_get("/api/posts", api_posts)
    app.router.add_post("/api/control", api_control)
    app.router.add_post("/api/expire", api_expire)
    app.router.add_post("/api/scan", api_scan)
    app.router.add_static("/static", STATIC)
    return app


class TikTokReplica:
    """Run the replica on a free loopback port for an ``async with`` block."""

    def __init__(self, options: ReplicaOptions | None = None) -> None:
        self.options = options or ReplicaOptions()
        self.app = create_app(self.options)
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def state(self) -> ReplicaState:
        """The replica's in-memory state."""
        return self.app[STATE]

    async def __aenter__(self) -> Self:
        if self._runner is not None:
            raise RuntimeError("already started")
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

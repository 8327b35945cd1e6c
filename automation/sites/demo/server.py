"""A small video site to drive with a real browser: logins, codes, a feed, uploads, faults.

Everything lives in memory. ``/api/*`` is ground truth for tests and never faults; HTML pages
obey the latency and error-rate knobs, which ``POST /api/control`` can change while running.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import BodyPartReader, web

from automation.sites.demo import api, pages
from automation.sites.demo.state import STATE, DemoSiteOptions, Session, SiteState

__all__ = ["DemoSite", "DemoSiteOptions", "create_app", "serve_forever"]

_TEXT_FIELD_LIMIT = 10_000
_CHUNK = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _state(request: web.Request) -> SiteState:
    return request.app[STATE]


def _redirect(location: str) -> web.Response:
    # Returned rather than raised so the upload fault can still be applied after the handler.
    return web.Response(status=303, headers={"Location": location})


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html")


def _session(request: web.Request) -> Session | None:
    return _state(request).session(request.cookies.get("sid"))


def _require_user(request: web.Request) -> str:
    """Return the verified user of this request or redirect to where they must go first."""
    session = _session(request)
    if session is None:
        raise web.HTTPFound("/login")
    if not session.verified:
        raise web.HTTPFound("/verify")
    return session.user


def _fault(request: web.Request) -> None:
    """With probability error_rate, answer 500 or drop the connection without an answer."""
    state = _state(request)
    rate = state.knobs.error_rate
    if rate <= 0 or state.rng.random() >= rate:
        return
    if state.rng.random() < 0.5:
        page = pages.message_page("Server error", "Something went wrong. Try again later.")
        raise web.HTTPInternalServerError(text=page, content_type="text/html")
    if request.transport is not None:
        request.transport.close()
    # Nothing reaches the client: aiohttp finds the transport closed and drops this response.
    raise web.HTTPInternalServerError()


@web.middleware
async def _chaos(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = _state(request)
    if state.knobs.latency_ms > 0:
        await asyncio.sleep(state.knobs.latency_ms / 1000)
    if request.path.startswith("/api/"):
        return await handler(request)
    # A lost answer to an accepted upload is the case clients must survive: store, then fail.
    after = request.method == "POST" and request.path == "/upload"
    if not after:
        _fault(request)
    response = await handler(request)
    if after:
        _fault(request)
    return response


# -- login and verification ----------------------------------------------------------------


async def _root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/feed")


async def _login_form(request: web.Request) -> web.StreamResponse:
    return _html(pages.login_page())


async def _login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    user, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    state = _state(request)
    if not state.check_password(user, password):
        return _html(pages.login_page("Wrong username or password", user), status=401)
    sid = state.open_session(user)
    response = _redirect("/feed" if state.sessions[sid].verified else "/verify")
    response.set_cookie("sid", sid, httponly=True, samesite="Lax", path="/")
    return response


async def _verify_form(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    if session is None:
        raise web.HTTPFound("/login")
    if session.verified:
        raise web.HTTPFound("/feed")
    return _html(pages.verify_page(session.user))


async def _verify(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    if session is None:
        raise web.HTTPFound("/login")
    code = str((await request.post()).get("code", "")).strip()
    expected = _state(request).codes.get(session.user)
    if session.verified or (expected is not None and code == expected):
        session.verified = True
        return _redirect("/feed")
    return _html(pages.verify_page(session.user, "That code is not right"), status=401)


# -- pages ---------------------------------------------------------------------------------


async def _feed(request: web.Request) -> web.StreamResponse:
    user = _require_user(request)
    state = _state(request)
    state.count_view(user, "feed")
    feed = state.feed()
    return _html(pages.feed_page(user, feed[:10], 10 if len(feed) > 10 else None))


async def _post(request: web.Request) -> web.StreamResponse:
    user = _require_user(request)
    state = _state(request)
    post_id = request.match_info["id"]
    post = state.posts.get(int(post_id)) if post_id.isdigit() else None
    if post is None:
        return _html(pages.message_page("Not found", "No such post.", user=user), status=404)
    state.count_view(user, "post")
    return _html(pages.post_page(user, post))


async def _profile(request: web.Request) -> web.StreamResponse:
    user = _require_user(request)
    state = _state(request)
    owner = request.match_info["user"]
    if owner not in state.passwords:
        return _html(pages.message_page("Not found", "No such user.", user=user), status=404)
    posts = state.uploads_of(owner)
    ready = [p for p in posts if p.status() == "ready"]
    pending = [p for p in posts if p.status() != "ready"] if owner == user else []
    return _html(pages.profile_page(user, owner, ready, pending))


async def _upload_form(request: web.Request) -> web.StreamResponse:
    return _html(pages.upload_page(_require_user(request), secrets.token_urlsafe(12)))


async def _read_capped(part: BodyPartReader, limit: int) -> bytes | None:
    """Read one multipart field into memory, or None as soon as it passes limit bytes."""
    data = bytearray()
    while chunk := await part.read_chunk(_CHUNK):
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


def _is_video(data: bytes) -> bool:
    return data[4:8] == b"ftyp" or data.startswith(b"\x1a\x45\xdf\xa3")


async def _upload(request: web.Request) -> web.StreamResponse:
    user = _require_user(request)
    state = _state(request)
    limit = state.options.max_upload_bytes

    def refuse(message: str, status: int = 400) -> web.Response:
        return _html(pages.upload_page(user, secrets.token_urlsafe(12), message), status=status)

    if request.content_type != "multipart/form-data":
        return refuse("Send the form as multipart/form-data")
    fields: dict[str, str] = {}
    video = b""
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "video":
            data = await _read_capped(part, limit)
            if data is None:
                # Answer now; the rest of the body is never buffered.
                return refuse(f"The file is larger than the {limit} byte limit", status=413)
            video = data
        elif part.name in ("title", "caption", "form_id"):
            text = await _read_capped(part, _TEXT_FIELD_LIMIT)
            if text is None:
                return refuse(f"The {part.name} is too long")
            fields[part.name] = text.decode("utf-8", "replace").strip()
    if not video:
        return refuse("Choose a video file to upload")
    if not _is_video(video):
        return refuse("Only MP4 or WebM videos are accepted")
    title = fields.get("title") or "Untitled video"
    caption, form_id = fields.get("caption", ""), fields.get("form_id", "")
    post = state.add_upload(user, title, caption, video, form_id)
    return _redirect(f"/processing/{post.id}")


async def _processing(request: web.Request) -> web.StreamResponse:
    user = _require_user(request)
    post_id = request.match_info["id"]
    post = _state(request).posts.get(int(post_id)) if post_id.isdigit() else None
    if post is None:
        return _html(pages.message_page("Not found", "No such upload.", user=user), status=404)
    if post.status() == "ready":
        raise web.HTTPFound(post.url)
    return _html(pages.processing_page(user, post))


def create_app(options: DemoSiteOptions | None = None) -> web.Application:
    """Build the demo site's aiohttp application with fresh in-memory state."""
    app = web.Application(middlewares=[_chaos])
    app[STATE] = SiteState(options or DemoSiteOptions())
    api.add_routes(app.router)
    app.router.add_get("/", _root)
    app.router.add_get("/login", _login_form)
    app.router.add_post("/login", _login)
    app.router.add_get("/verify", _verify_form)
    app.router.add_post("/verify", _verify)
    app.router.add_get("/feed", _feed)
    app.router.add_get("/post/{id}", _post)
    app.router.add_get("/u/{user}", _profile)
    app.router.add_get("/upload", _upload_form)
    app.router.add_post("/upload", _upload)
    app.router.add_get("/processing/{id}", _processing)
    return app


class DemoSite:
    """Run the demo site on a TCP port for the duration of an ``async with`` block."""

    def __init__(
        self, options: DemoSiteOptions | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.options = options or DemoSiteOptions()
        self.app = create_app(self.options)
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:8765 (only while running)."""
        if self._url is None:
            raise RuntimeError("the demo site is not running")
        return self._url

    @property
    def state(self) -> SiteState:
        """The site's in-memory state, for tests that want to look inside."""
        return self.app[STATE]

    async def __aenter__(self) -> DemoSite:
        if self._runner is not None:
            raise RuntimeError("already started")
        # Short shutdown: a request still sleeping in the latency knob must not hold up exit.
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self._host, self._port).start()
        except BaseException:
            await self._runner.cleanup()
            raise
        bound_port = self._runner.addresses[0][1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._url = f"http://{host}:{bound_port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._url = None
        if self._runner is not None:
            await self._runner.cleanup()


async def serve_forever(
    options: DemoSiteOptions | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the demo site until cancelled; on_ready gets the URL once it listens."""
    async with DemoSite(options, host=host, port=port) as site:
        if on_ready is not None:
            on_ready(site.url)
        await asyncio.Event().wait()

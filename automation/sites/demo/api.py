"""The demo site's JSON API: ground truth for tests and the knobs; it never faults."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from automation.sites.demo.state import STATE, SiteState


def _state(request: web.Request) -> SiteState:
    return request.app[STATE]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _query_user(request: web.Request) -> str:
    user = request.query.get("user", "")
    if user not in _state(request).passwords:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"unknown user {user!r}"}), content_type="application/json"
        )
    return user


async def _api_health(request: web.Request) -> web.StreamResponse:
    return _json({"ok": True})


async def _api_posts(request: web.Request) -> web.StreamResponse:
    user = _query_user(request)
    posts = [p.as_json() for p in _state(request).uploads_of(user)]
    return _json({"user": user, "posts": posts})


async def _api_last_code(request: web.Request) -> web.StreamResponse:
    user = _query_user(request)
    code = _state(request).codes.get(user)
    if code is None:
        return _json({"error": f"no code was sent to {user}"}, status=404)
    return _json({"user": user, "code": code})


async def _api_post_status(request: web.Request) -> web.StreamResponse:
    post_id = request.query.get("id", "")
    post = _state(request).posts.get(int(post_id)) if post_id.isdigit() else None
    if post is None:
        return _json({"error": "no such post"}, status=404)
    return _json({"id": post.id, "status": post.status()})


async def _api_feed(request: web.Request) -> web.StreamResponse:
    try:
        offset = max(0, int(request.query.get("offset", "0")))
        limit = min(50, max(1, int(request.query.get("limit", "10"))))
    except ValueError:
        return _json({"error": "offset and limit must be integers"}, status=400)
    state = _state(request)
    session = state.session(request.cookies.get("sid"))
    if session is not None:
        state.count_view(session.user, "feed_api")
    feed = state.feed()
    chunk = [
        {"id": p.id, "url": p.url, "author": p.author, "title": p.title, "caption": p.caption}
        for p in feed[offset : offset + limit]
    ]
    end = offset + len(chunk)
    return _json(
        {"offset": offset, "posts": chunk, "next_offset": end if end < len(feed) else None}
    )


async def _api_stats(request: web.Request) -> web.StreamResponse:
    views = {user: dict(counter) for user, counter in _state(request).views.items()}
    return _json({"views": views})


async def _api_control(request: web.Request) -> web.StreamResponse:
    knobs = _state(request).knobs
    if request.method == "POST":
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            knobs.update(body)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            return _json({"error": str(exc)}, status=400)
    return _json(knobs.as_json())


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the /api/* routes."""
    router.add_get("/api/health", _api_health)
    router.add_get("/api/posts", _api_posts)
    router.add_get("/api/last-code", _api_last_code)
    router.add_get("/api/post-status", _api_post_status)
    router.add_get("/api/feed", _api_feed)
    router.add_get("/api/stats", _api_stats)
    router.add_route("*", "/api/control", _api_control)

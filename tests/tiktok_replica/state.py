"""The replica's knobs and in-memory state: sessions, posts, and the failure switches.

Every behaviour here comes from facts public open-source uploaders report about
tiktok.com (see the TikTok section of README.md); nothing is invented beyond that.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

POPUPS = ("new_features", "tutorial", "content_checks", "continue_to_post")
# Where in the flow each popup may show up; one is picked per page at random (seeded).
POPUP_STAGES: dict[str, tuple[str, ...]] = {
    "new_features": ("load", "file_selected", "upload_done"),
    "tutorial": ("load", "file_selected"),
    "content_checks": ("file_selected", "upload_done"),
    "continue_to_post": ("post_clicked",),
}
SOMETHING_WENT_WRONG = (
    "Something went wrong. You can try again or replace it with a different video."
)
TOO_MANY_ATTEMPTS = "Too many uploading attempts. Try again later."
DRIFTED_POST_E2E = "post_video_btn"


@dataclass
class ReplicaOptions:
    """What the replica does; every field can be changed at run time through /api/control."""

    layout: Literal["plain", "iframe"] = "plain"
    upload_delay_s: float = 0.5
    popups: bool = True
    popup_chance: float = 0.8
    seed: int = 1
    login_redirect_ms: int = 300
    captcha: bool = False
    something_wrong: bool = False
    rate_limit: bool = False
    # The file never arrives: the page drops the form and shows "Select video" again.
    upload_fails: bool = False
    drift: bool = False
    # The post is stored at once but its answer waits this long (a crash after Post).
    post_response_delay_s: float = 0.0

    def update(self, changes: dict[str, Any]) -> None:
        """Apply /api/control's JSON; unknown keys are an error."""
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                raise KeyError(key)
            setattr(self, key, value)


@dataclass
class Post:
    """One published video."""

    id: str
    handle: str
    caption: str
    visibility: str
    size: int


@dataclass
class ReplicaState:
    """Sessions by ``sessionid``, uploads in flight, posts by handle, QR logins waiting."""

    options: ReplicaOptions
    sessions: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, tuple[str, int]] = field(default_factory=dict)
    posts: list[Post] = field(default_factory=list)
    qr_waiting: dict[str, str | None] = field(default_factory=dict)
    upload_attempts: int = 0
    # Set when a file upload starts / a post is stored: tests wait on these, not on sleeps.
    upload_started: asyncio.Event = field(default_factory=asyncio.Event)
    post_stored: asyncio.Event = field(default_factory=asyncio.Event)
    login_shown: asyncio.Event = field(default_factory=asyncio.Event)
    pages_served: int = 0
    _next_id: int = 7_300_000_000_000_000_000

    def new_session(self, handle: str) -> str:
        """A fresh ``sessionid`` for handle (what a human's login leaves in the browser)."""
        sid = secrets.token_hex(16)
        self.sessions[sid] = handle
        return sid

    def handle_of(self, sid: str | None) -> str | None:
        """The handle a ``sessionid`` belongs to, or None when it is missing or expired."""
        return self.sessions.get(sid or "")

    def expire_sessions(self) -> None:
        """Every session ends at once (TikTok logging the browser out mid-run)."""
        self.sessions.clear()

    def new_id(self) -> str:
        """A video id shaped like TikTok's (19 digits)."""
        self._next_id += 1
        return str(self._next_id)

    def add_post(self, handle: str, caption: str, visibility: str, size: int) -> Post:
        """Publish a post."""
        post = Post(self.new_id(), handle, caption, visibility, size)
        self.posts.append(post)
        self.post_stored.set()
        return post

    def posts_of(self, handle: str) -> list[Post]:
        """A handle's posts, newest first (as the content page lists them)."""
        return [p for p in reversed(self.posts) if p.handle == handle]

    def popup_plan(self) -> list[dict[str, Any]]:
        """Which popups this page shows, at which stage and after what delay (seeded)."""
        self.pages_served += 1
        if not self.options.popups:
            return []
        rng = random.Random(f"{self.options.seed}:{self.pages_served}")
        plan = []
        for kind in POPUPS:
            if rng.random() < self.options.popup_chance:
                stage = rng.choice(POPUP_STAGES[kind])
                plan.append({"kind": kind, "stage": stage, "delay_ms": rng.randint(0, 700)})
        return plan

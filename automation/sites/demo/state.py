"""The demo site's in-memory world: options, runtime knobs, users, sessions, codes and posts."""

from __future__ import annotations

import hashlib
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

MIB = 1024 * 1024

_WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "harbour",
    "sunset",
    "city",
    "night",
    "river",
    "morning",
    "coffee",
    "street",
    "music",
    "dance",
    "mountain",
    "trail",
    "rain",
    "window",
    "garden",
    "train",
    "market",
    "bridge",
    "summer",
    "winter",
    "light",
]


@dataclass(frozen=True)
class DemoSiteOptions:
    """How the demo site behaves; latency, errors and session lifetime can change at runtime."""

    users: int = 10
    latency_ms: int = 0
    error_rate: float = 0.0
    session_ttl_s: float = 3600
    seed: int | None = None
    verify_users: frozenset[str] = frozenset()
    max_upload_bytes: int = 50 * MIB
    processing_s: float = 1.0
    feed_size: int = 200


@dataclass
class Knobs:
    """The settings that POST /api/control may change while the site runs."""

    latency_ms: int
    error_rate: float
    session_ttl_s: float

    def as_json(self) -> dict[str, Any]:
        """Return the knobs as the JSON /api/control answers with."""
        return {
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "session_ttl_s": self.session_ttl_s,
        }

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a /api/control body; raise ValueError naming the first bad field."""
        checked: dict[str, Any] = {}
        for key, value in changes.items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if key == "error_rate" and number and 0.0 <= value <= 1.0:
                checked[key] = float(value)
            elif key == "latency_ms" and number and value >= 0 and value == int(value):
                checked[key] = int(value)
            elif key == "session_ttl_s" and number and value >= 0:
                checked[key] = float(value)
            else:
                raise ValueError(f"unknown knob or bad value: {key!r}")
        # Validate everything first so a bad body changes nothing.
        for key, value in checked.items():
            setattr(self, key, value)


@dataclass
class Session:
    """A login; unverified sessions only grant access to /verify."""

    user: str
    created: float
    verified: bool


@dataclass
class Post:
    """A post: synthetic feed filler or a user's upload."""

    id: int
    author: str
    title: str
    caption: str
    sha256: str
    created_at: datetime
    ready_at: float
    uploaded: bool

    @property
    def url(self) -> str:
        """The post page's path."""
        return f"/post/{self.id}"

    def status(self) -> str:
        """Return "processing" until the site has finished with the upload, then "ready"."""
        return "ready" if time.monotonic() >= self.ready_at else "processing"

    def as_json(self) -> dict[str, Any]:
        """Return the post as /api/posts lists it."""
        return {
            "id": self.id,
            "url": self.url,
            "author": self.author,
            "title": self.title,
            "caption": self.caption,
            "sha256": self.sha256,
            "status": self.status(),
            "created_at": self.created_at.isoformat(),
        }


@dataclass
class SiteState:
    """Everything the site knows; one instance per app, nothing global."""

    options: DemoSiteOptions
    knobs: Knobs = field(init=False)
    rng: random.Random = field(init=False)
    passwords: dict[str, str] = field(init=False)
    sessions: dict[str, Session] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    posts: dict[int, Post] = field(default_factory=dict)
    views: dict[str, Counter[str]] = field(default_factory=dict)
    form_posts: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        opts = self.options
        self.knobs = Knobs(opts.latency_ms, opts.error_rate, opts.session_ttl_s)
        # One seeded generator for feed content and faults, so a seed replays a whole run.
        self.rng = random.Random(opts.seed)
        self.passwords = {f"demo{k}": f"pw-demo{k}" for k in range(1, opts.users + 1)}
        self._make_feed()

    def _make_feed(self) -> None:
        authors = sorted(self.passwords) or ["demo"]
        now = datetime.now(UTC)
        for number in range(1, self.options.feed_size + 1):
            title = " ".join(self.rng.choices(_WORDS, k=self.rng.randint(2, 4))).capitalize()
            caption = " ".join(self.rng.choices(_WORDS, k=self.rng.randint(6, 14))) + "."
            self.posts[number] = Post(
                id=number,
                author=self.rng.choice(authors),
                title=title,
                caption=caption.capitalize(),
                sha256=hashlib.sha256(f"synthetic-{number}".encode()).hexdigest(),
                created_at=now - timedelta(minutes=17 * number),
                ready_at=0.0,
                uploaded=False,
            )

    # -- sessions and codes ------------------------------------------------------------------

    def check_password(self, user: str, password: str) -> bool:
        """Tell whether user exists and password is theirs."""
        expected = self.passwords.get(user)
        return expected is not None and secrets.compare_digest(expected, password)

    def open_session(self, user: str) -> str:
        """Start a session for user and return its sid; verify_users also get a new code."""
        verified = user not in self.options.verify_users
        if not verified:
            self.codes[user] = f"{secrets.randbelow(10**6):06d}"
        sid = secrets.token_urlsafe(24)
        self.sessions[sid] = Session(user, time.monotonic(), verified)
        return sid

    def session(self, sid: str | None) -> Session | None:
        """Return the live session for sid, forgetting it once session_ttl_s has passed."""
        found = self.sessions.get(sid) if sid else None
        if found is None or sid is None:
            return None
        if time.monotonic() - found.created >= self.knobs.session_ttl_s:
            del self.sessions[sid]
            return None
        return found

    def count_view(self, user: str, what: str) -> None:
        """Remember that user's browser fetched a page or feed chunk (for tests to check)."""
        self.views.setdefault(user, Counter())[what] += 1

    # -- posts -------------------------------------------------------------------------------

    def add_upload(
        self, user: str, title: str, caption: str, data: bytes, form_id: str = ""
    ) -> Post:
        """Store an accepted upload in the processing state; a repeated form_id is one post."""
        # Chromium silently resends a POST whose reused connection died without an answer;
        # like real sites, the form's one-time id makes that resend land on the same post.
        if form_id and (user, form_id) in self.form_posts:
            return self.posts[self.form_posts[user, form_id]]
        post = Post(
            id=max(self.posts, default=0) + 1,
            author=user,
            title=title,
            caption=caption,
            sha256=hashlib.sha256(data).hexdigest(),
            created_at=datetime.now(UTC),
            ready_at=time.monotonic() + self.options.processing_s,
            uploaded=True,
        )
        self.posts[post.id] = post
        if form_id:
            self.form_posts[user, form_id] = post.id
        return post

    def uploads_of(self, user: str) -> list[Post]:
        """Return user's uploads, newest first, whatever their status."""
        mine = [p for p in self.posts.values() if p.uploaded and p.author == user]
        return sorted(mine, key=lambda p: p.id, reverse=True)

    def feed(self) -> list[Post]:
        """Return the feed: ready uploads newest first, then the synthetic posts."""
        uploads = [p for p in self.posts.values() if p.uploaded and p.status() == "ready"]
        synthetic = [p for p in self.posts.values() if not p.uploaded]
        return sorted(uploads, key=lambda p: p.id, reverse=True) + synthetic


STATE = web.AppKey("state", SiteState)

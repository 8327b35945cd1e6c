"""What a site adapter is: the protocol the runner drives, and the values it passes around.

An adapter knows one website. It gets a fresh Playwright page whose context already carries
the account's saved session and proxy, and it raises the errors of ``automation.errors``.
It never touches the database or Telegram: the runner decides what an outcome means.

The runner calls, per item::

    if not await adapter.is_logged_in(ctx):
        await adapter.log_in(ctx)              # may call ctx.ask_human(...) for a code
    warmup:  report = await adapter.warmup(ctx, duration_s)
    upload:  post = await adapter.find_post(ctx, video) or await adapter.upload(ctx, video)

``find_post`` runs before every upload attempt, so a retry after a crash that happened
after the site accepted the post records that post instead of posting twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from playwright.async_api import Locator, Page


@dataclass(frozen=True)
class Credentials:
    """An account's login; the password lives in memory only for the item's duration."""

    username: str
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class VideoToUpload:
    """One video for one upload item."""

    path: Path
    sha256: str
    caption: str
    original_name: str

    @property
    def marker(self) -> str:
        """A short tag an adapter can put in the post and find again on the profile."""
        return f"fb-{self.sha256[:12]}"


@dataclass(frozen=True)
class PostRef:
    """Where an uploaded post can be seen."""

    url: str
    already_posted: bool = False


@dataclass(frozen=True)
class WarmupReport:
    """What a warmup saw, stored as the item's result."""

    user: str
    posts_viewed: int
    scrolls: int
    seconds: float


AskHuman = Callable[[str], Awaitable[str]]
"""Ask the operator a question about the current page; returns the answer.

Raises ``VerificationRequired`` when nobody answers in time.
"""


@dataclass
class ItemContext:
    """Everything an adapter may use for one item."""

    page: Page
    account_label: str
    credentials: Credentials
    ask_human: AskHuman
    log: Callable[[str], None] = field(default=lambda _msg: None)


class SiteAdapter(Protocol):
    """One website's automation. Implementations live in ``automation/sites/<name>/``."""

    name: ClassVar[str]
    # CSS selectors of fields that hold credentials or one-time codes: every screenshot of
    # the adapter's pages blacks them out (``masks``), failure screenshots go to the chat.
    mask_selectors: ClassVar[tuple[str, ...]]

    async def is_logged_in(self, ctx: ItemContext) -> bool:
        """Open the site and tell whether the restored session is still valid."""
        ...

    async def log_in(self, ctx: ItemContext) -> None:
        """Log in with ctx.credentials; raise LoginRequired when that is impossible."""
        ...

    async def warmup(self, ctx: ItemContext, duration_s: float) -> WarmupReport:
        """Use the site like a person reading it for about duration_s seconds."""
        ...

    async def find_post(self, ctx: ItemContext, video: VideoToUpload) -> PostRef | None:
        """Return this video's post on the account's profile if it is already there."""
        ...

    async def upload(self, ctx: ItemContext, video: VideoToUpload) -> PostRef:
        """Post the video with its caption and return the post once it is visible."""
        ...


def masks(page: Page, adapter: SiteAdapter) -> list[Locator]:
    """The locators to pass as ``page.screenshot(mask=...)`` for this adapter's pages."""
    return [page.locator(selector) for selector in adapter.mask_selectors]


def result_of(value: WarmupReport | PostRef) -> dict[str, Any]:
    """Turn an adapter's return value into the JSON stored as the item's result."""
    if isinstance(value, PostRef):
        return {"post_url": value.url, "already_posted": value.already_posted}
    return {
        "user": value.user,
        "posts_viewed": value.posts_viewed,
        "scrolls": value.scrolls,
        "seconds": round(value.seconds, 1),
    }

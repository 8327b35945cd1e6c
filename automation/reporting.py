"""How automation talks to people without knowing about Telegram or terminals.

``Reporter`` receives progress and summaries; ``Operator`` answers questions a site asks
(a one-time code). ``bot/`` implements both for Telegram, ``cli/terminal.py`` for the CLI.
A reporter that fails never fails the run: the database already holds the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from automation.summary import RunProgress, RunSummary


@dataclass(frozen=True)
class ItemEvent:
    """Something happened to one item: started, retrying, or settled for good."""

    run_id: int
    item_id: int
    account: str
    status: str  # "running", "retrying", or a final ItemStatus value
    attempt: int
    video: str | None = None
    error: str | None = None
    result: dict[str, object] | None = None


@dataclass(frozen=True)
class Question:
    """A site wants a human: show the page, ask, wait for the reply."""

    run_id: int
    item_id: int
    account: str
    prompt: str
    screenshot: bytes = field(repr=False, default=b"")


class Reporter(Protocol):
    """Receives a run's progress."""

    async def item_event(self, event: ItemEvent, progress: RunProgress) -> None:
        """An item changed state; progress counts the run's items as the database has them."""
        ...

    async def run_finished(self, summary: RunSummary) -> None:
        """The last item settled."""
        ...


class Operator(Protocol):
    """Answers a site's questions; None means nobody will answer."""

    async def ask(self, question: Question) -> str | None:
        """Return the human's answer; the caller enforces the timeout."""
        ...


class NullReporter:
    """Reports nowhere (background runs whose chat is told through the outbox)."""

    async def item_event(self, event: ItemEvent, progress: RunProgress) -> None:
        """Ignore the event."""

    async def run_finished(self, summary: RunSummary) -> None:
        """Ignore the summary."""


class NoOperator:
    """Nobody is there: every question goes unanswered."""

    async def ask(self, question: Question) -> str | None:
        """Return None at once."""
        return None

"""A run's summary, always derived from its rows, never kept in memory."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.functions import Count

from storage.models import ItemStatus, Run, RunItem, RunStatus


@dataclass(frozen=True)
class ItemSummary:
    """One item as the database has it."""

    item_id: int
    account: str
    status: str
    attempts: int
    video: str | None = None
    error: str | None = None
    error_class: str | None = None
    artifact: str | None = None
    result: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The item shape of the ``--json`` run summary."""
        return {
            "account": self.account,
            "video": self.video,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
            "artifact": self.artifact,
            "result": self.result,
        }


@dataclass(frozen=True)
class RunSummary:
    """Counts and items of one run."""

    run_id: int
    kind: str
    status: str
    trigger: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    chat_id: int | None = None
    items: list[ItemSummary] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        """How many items are in each status."""
        return Counter(item.status for item in self.items)

    @property
    def progress(self) -> RunProgress:
        """The counts and times alone, as the progress message shows them."""
        return RunProgress(
            run_id=self.run_id,
            kind=self.kind,
            status=self.status,
            created_at=self.created_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            counts=self.counts,
        )

    @property
    def total(self) -> int:
        """Items in the run."""
        return len(self.items)

    @property
    def settled(self) -> int:
        """Items with a final outcome."""
        return self.progress.settled

    @property
    def duration_s(self) -> float:
        """Seconds from the first item's start to the end (or now, while running)."""
        return self.progress.duration_s

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` run summary."""
        counts = self.counts
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "status": self.status,
            "trigger": self.trigger,
            "total": self.total,
            "succeeded": counts[ItemStatus.SUCCEEDED],
            "failed": counts[ItemStatus.FAILED],
            "skipped": counts[ItemStatus.SKIPPED],
            "cancelled": counts[ItemStatus.CANCELLED],
            "pending": counts[ItemStatus.PENDING] + counts[ItemStatus.RUNNING],
            "duration_s": round(self.duration_s, 1),
            "items": [item.to_json() for item in self.items],
        }


@dataclass(frozen=True)
class RunProgress:
    """How far a run has got: the run's status and times, item counts by status.

    The runner reports progress after every item event; counting in SQL keeps that one
    small query however many items the run has, and the progress message is drawn from
    this alone.
    """

    run_id: int
    kind: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counts: Counter[str]

    @property
    def total(self) -> int:
        """Items in the run."""
        return sum(self.counts.values())

    @property
    def settled(self) -> int:
        """Items with a final outcome."""
        return sum(n for status, n in self.counts.items() if ItemStatus(status).is_final)

    @property
    def duration_s(self) -> float:
        """Seconds from the first item's start to the end (or now, while running)."""
        start = self.started_at or self.created_at
        end = self.finished_at or datetime.now(UTC)
        return max(0.0, (end - start).total_seconds())


_RUN_NOW = ("run__status", "run__created_at", "run__started_at", "run__finished_at")


async def load_progress(run: Run) -> RunProgress:
    """Count a run's items by status, with the run's status and times as they are now.

    One aggregate query: the run's own columns ride along in the GROUP BY (they are one
    row's), so a caller holding an older copy of the run still gets today's status.
    """
    rows = (
        await RunItem.filter(run_id=run.id)
        .annotate(n=Count("id"))
        .group_by("status", *_RUN_NOW)
        .values("status", "n", *_RUN_NOW)
    )
    counts = Counter({str(row["status"]): int(row["n"]) for row in rows})
    now = rows[0] if rows else {}  # a run without items: the caller's copy is all there is
    return RunProgress(
        run_id=run.id,
        kind=str(run.kind),
        status=str(now.get("run__status", run.status)),
        created_at=now.get("run__created_at", run.created_at),
        started_at=now.get("run__started_at", run.started_at),
        finished_at=now.get("run__finished_at", run.finished_at),
        counts=counts,
    )


def derive_status(counts: Counter[str], current: RunStatus) -> RunStatus | None:
    """The final status once every item settled (from counts by status), else None."""
    if any(n and not ItemStatus(status).is_final for status, n in counts.items()):
        return None
    if current == RunStatus.CANCELLED:
        return RunStatus.CANCELLED
    succeeded = counts[ItemStatus.SUCCEEDED] + counts[ItemStatus.SKIPPED]
    failed = counts[ItemStatus.FAILED]
    if failed and succeeded:
        return RunStatus.PARTIAL
    if failed:
        return RunStatus.FAILED
    if counts[ItemStatus.CANCELLED] and not succeeded:
        return RunStatus.CANCELLED
    return RunStatus.SUCCEEDED


async def load_summary(run: Run) -> RunSummary:
    """Read a run's items (one query) and summarise them."""
    items = (
        await RunItem.filter(run_id=run.id)
        .order_by("position", "id")
        .prefetch_related("account", "video")
    )
    return RunSummary(
        run_id=run.id,
        kind=str(run.kind),
        status=str(run.status),
        trigger=str(run.trigger),
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        chat_id=run.chat_id,
        items=[_item(item) for item in items],
    )


def _item(item: RunItem) -> ItemSummary:
    error = None
    if item.error_class:
        error = f"{item.error_class}: {item.error_message or ''}".rstrip(": ")
    return ItemSummary(
        item_id=item.id,
        account=item.account.label,
        status=str(item.status),
        attempts=item.attempts,
        video=item.video.original_name if item.video else None,
        error=error,
        error_class=item.error_class,
        artifact=item.screenshot_path,
        result=item.result,
    )


def summary_text(summary: RunSummary) -> str:
    """A plain-text summary (terminal and the outbox's stored text)."""
    counts = summary.counts
    lines = [
        f"Run #{summary.run_id} ({summary.kind}) {summary.status}: "
        f"{counts[ItemStatus.SUCCEEDED]}/{summary.total} succeeded, "
        f"{counts[ItemStatus.FAILED]} failed in {summary.duration_s:.0f}s"
    ]
    for item in summary.items:
        if item.status == ItemStatus.FAILED:
            lines.append(f"  {item.account}: {item.error}")
        elif item.result and item.result.get("post_url"):
            lines.append(f"  {item.account}: {item.result['post_url']}")
    return "\n".join(lines)

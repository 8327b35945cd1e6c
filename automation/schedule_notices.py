"""What the scheduler tells people: outbox rows for skipped, missed, empty and failed fires.

Every notice has a dedupe key, so a restart (or a fire repeated at catch-up) never queues
the same message twice, and a condition that lasts (a run still going, an empty queue, a
broken selector) is told once, not at every fire. Texts are plain English with no secrets.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime

from automation.notifications import enqueue
from automation.schedules import format_fire
from automation.when import When
from storage.models import Run, Schedule

log = logging.getLogger(__name__)

MAX_COUNTED = 1000  # a missed-fires notice counts this many, then says "more than"


class ScheduleNotices:
    """Queues a schedule's notices for its chat, or for every admin when it has none."""

    def __init__(
        self, admins: tuple[int, ...], grace_s: int, on_notified: Callable[[], None]
    ) -> None:
        self._admins = admins
        self._grace_s = grace_s
        self._on_notified = on_notified

    def chats(self, schedule: Schedule) -> tuple[int, ...]:
        """Who hears about a schedule: the chat that made it, else every admin."""
        return (schedule.chat_id,) if schedule.chat_id is not None else self._admins

    async def skipped(self, schedule: Schedule, due: datetime, blocking: Run) -> None:
        """A fire skipped because the schedule's previous run is still open (told once)."""
        await self._notify(
            schedule,
            f"Schedule #{schedule.id} skipped its fire due {local(schedule, due)}: run "
            f"#{blocking.id} from an earlier fire is still {blocking.status}. Its fires are "
            "skipped until that run ends.",
            kind="schedule_skipped",
            key=f"schedule:{schedule.id}:skipped:run:{blocking.id}",
        )

    async def busy(self, schedule: Schedule, due: datetime) -> None:
        """A fire APScheduler dropped as the previous one still ran (told once per stall)."""
        stuck_since = schedule.last_fired_at.isoformat() if schedule.last_fired_at else "never"
        await self._notify(
            schedule,
            f"Schedule #{schedule.id} skipped its fire due {local(schedule, due)}: the "
            "previous fire was still being handled.",
            kind="schedule_skipped",
            key=f"schedule:{schedule.id}:busy:{stuck_since}",
        )

    async def missed(self, schedule: Schedule, missed: list[datetime], why: str) -> None:
        """One notice for fires too old to run (``missed`` may be cut at MAX_COUNTED + 1)."""
        first, last = missed[0], missed[-1]
        if len(missed) == 1:
            what = f"missed its fire due {local(schedule, last)}"
        else:
            count = f"more than {MAX_COUNTED}" if len(missed) > MAX_COUNTED else len(missed)
            what = f"missed {count} fires due {local(schedule, first)} to {local(schedule, last)}"
        await self._notify(
            schedule,
            f"Schedule #{schedule.id} ({schedule.kind} '{schedule.expression}') {what} "
            f"{why}; nothing was run for them: they were over {self._grace_s}s late.",
            kind="schedule_missed",
            key=f"schedule:{schedule.id}:missed:{last.isoformat()}",
        )

    async def queue_empty(self, schedule: Schedule) -> None:
        """An upload fire found nothing to post (told once until the schedule posts again)."""
        await self._notify(
            schedule,
            f"Schedule #{schedule.id}: the upload queue is empty for every selected account, "
            "so nothing was posted. Queue more videos; this is said once until the schedule "
            "posts again.",
            kind="queue_empty",
            key=f"schedule:{schedule.id}:empty:{await _last_run(schedule.id)}",
        )

    async def failed(self, schedule: Schedule, problem: str) -> None:
        """A fire could not create its run (told once per problem until a run starts)."""
        text = f"Schedule #{schedule.id} could not start a run: {problem}"
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        await self._notify(
            schedule,
            text,
            kind="schedule_failed",
            key=f"schedule:{schedule.id}:failed:{digest}:{await _last_run(schedule.id)}",
        )

    async def _notify(self, schedule: Schedule, text: str, *, kind: str, key: str) -> None:
        log.info("%s", text)
        created = False
        for chat_id in self.chats(schedule):
            created |= await enqueue(chat_id, kind, text, dedupe_key=f"{key}:{chat_id}")
        if created:
            self._on_notified()


def local(schedule: Schedule, moment: datetime) -> str:
    """A fire time in the schedule's own zone, for people."""
    return format_fire(moment.astimezone(When(schedule.expression, schedule.timezone).zone))


async def _last_run(schedule_id: int) -> int:
    """The schedule's newest run id, 0 if none: keys a notice to "since the last run"."""
    run = await Run.filter(schedule_id=schedule_id).order_by("-id").first()
    return run.id if run is not None else 0

"""Fires schedules on time, once: APScheduler holds the triggers, the database the truth.

At start every enabled schedule is checked for fires missed while fleetbot was down
(from ``Schedule.last_fired_at``): the latest one runs once if it is at most
``misfire_grace_s`` old, older ones produce one notification instead. Then one job per
schedule is added to an ``AsyncIOScheduler`` with a memory store, rebuilt by ``reload()``
whenever schedules change. A fire creates the run and moves ``last_fired_at`` in one
transaction, so a restart never repeats a fire; a fire whose previous run of the same
schedule is still open is skipped and its chat is told.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from tortoise.transactions import in_transaction

from automation.errors import FleetbotError
from automation.runs import Requester, RunService
from automation.schedules import When
from automation.videoqueue import VideoQueue
from storage.models import Notification, Run, RunKind, RunStatus, Schedule, Trigger

log = logging.getLogger(__name__)

_OPEN = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.INTERRUPTED)
SYNC_S = 30


@dataclass(frozen=True)
class SchedulerSettings:
    """What the scheduler needs from the configuration."""

    timezone: str
    misfire_grace_s: int
    warmup_duration_s: float
    admins: tuple[int, ...] = ()


class FleetScheduler:
    """The live triggers of the stored schedules; ``fire(id)`` is the one way a fire runs."""

    def __init__(
        self,
        settings: SchedulerSettings,
        runs: RunService,
        *,
        on_run_created: Callable[[int], None] = lambda _run_id: None,
        on_notified: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._runs = runs
        self._queue = VideoQueue(runs)
        self._on_run_created = on_run_created
        self._on_notified = on_notified
        self._scheduler: AsyncIOScheduler | None = None
        self._live: dict[str, tuple[str, str]] = {}

    async def __aenter__(self) -> Self:
        if self._scheduler is not None:
            raise RuntimeError("scheduler already started")
        self._scheduler = AsyncIOScheduler(timezone=self._settings.timezone)
        self._scheduler.start()  # inside the running loop, as APScheduler requires
        await self.catch_up()
        await self.reload()
        self._scheduler.add_job(
            self._sync, "interval", seconds=SYNC_S, id="sync", coalesce=True, max_instances=1
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
            self._live.clear()

    async def reload(self) -> None:
        """Make the live triggers match the enabled schedules in the database.

        Only schedules that were added, removed, paused or changed are touched, so a
        reload never moves a trigger that is about to fire.
        """
        scheduler = self._scheduler
        if scheduler is None:
            return
        wanted = {
            f"schedule-{s.id}": s for s in await Schedule.filter(enabled=True).order_by("id")
        }
        for job_id in set(self._live) - set(wanted):
            scheduler.remove_job(job_id)
            del self._live[job_id]
        for job_id, schedule in wanted.items():
            signature = (schedule.expression, schedule.timezone)
            if self._live.get(job_id) == signature:
                continue
            scheduler.add_job(
                self.fire,
                trigger=When(schedule.expression, schedule.timezone).trigger(schedule.created_at),
                args=[schedule.id],
                id=job_id,
                name=f"{schedule.kind} #{schedule.id}",
                misfire_grace_time=self._settings.misfire_grace_s,
                coalesce=True,
                max_instances=1,
                replace_existing=True,
            )
            self._live[job_id] = signature

    async def _sync(self) -> None:
        """Pick up schedules changed by another process (``fleetbot schedules ...``)."""
        try:
            await self.reload()
        except (OSError, FleetbotError, ValueError) as exc:
            log.warning("could not reload schedules: %s", exc)

    async def next_fires(self) -> list[tuple[str, datetime]]:
        """The next fire of each live trigger, soonest first (for /status)."""
        if self._scheduler is None:
            return []
        fires = [
            (job.name, job.next_run_time)
            for job in self._scheduler.get_jobs()
            if job.id in self._live and job.next_run_time is not None
        ]
        return sorted(fires, key=lambda fire: fire[1])

    async def catch_up(self, now: datetime | None = None) -> None:
        """Run (once) or report the fires missed while nothing was running."""
        now = now or datetime.now(UTC)
        grace = timedelta(seconds=self._settings.misfire_grace_s)
        for schedule in await Schedule.filter(enabled=True):
            missed = _missed(schedule, now)
            if not missed:
                continue
            latest = missed[-1]
            if now - latest <= grace:
                log.info("schedule #%d: catching up the fire due %s", schedule.id, latest)
                await self.fire(schedule.id, due=latest)
                continue
            await self._notify(
                schedule,
                f"Schedule #{schedule.id} ({schedule.kind} {schedule.expression}) missed "
                f"{len(missed)} fire(s) while fleetbot was down, the last due "
                f"{latest:%Y-%m-%d %H:%M %Z}; too old to run now.",
                kind="schedule_missed",
                key=f"schedule:{schedule.id}:missed:{latest.isoformat()}",
            )
            await Schedule.filter(id=schedule.id).update(last_fired_at=latest)

    async def fire(self, schedule_id: int, due: datetime | None = None) -> int | None:
        """One fire: create the run (or skip, telling the chat); returns the run id."""
        due = due or datetime.now(UTC)
        schedule = await Schedule.get_or_none(id=schedule_id)
        if schedule is None or not schedule.enabled:
            return None
        try:
            return await self._fire(schedule, due)
        except FleetbotError as exc:  # e.g. its selector matches nothing any more
            await Schedule.filter(id=schedule.id).update(last_fired_at=due)
            await self._notify(
                schedule,
                f"Schedule #{schedule.id} could not start a run: {exc}",
                kind="schedule_failed",
                key=f"schedule:{schedule.id}:failed:{due.isoformat()}",
            )
            return None

    async def _fire(self, schedule: Schedule, due: datetime) -> int | None:
        when = When(schedule.expression, schedule.timezone)
        last = schedule.last_fired_at
        if last is not None and not when.is_interval and when.wall(last) == when.wall(due):
            log.info("schedule #%d: %s already fired (clocks went back)", schedule.id, due)
            return None
        still_open = await Run.filter(schedule_id=schedule.id, status__in=_OPEN).first()
        if still_open is not None:
            await Schedule.filter(id=schedule.id).update(last_fired_at=due)
            await self._notify(
                schedule,
                f"Schedule #{schedule.id} skipped its {due:%H:%M} fire: run "
                f"#{still_open.id} from its previous fire is still going.",
                kind="schedule_skipped",
                key=f"schedule:{schedule.id}:skipped:{due.isoformat()}",
            )
            return None
        requester = Requester(
            Trigger.SCHEDULE,
            requested_by=f"schedule:{schedule.id}",
            chat_id=schedule.chat_id,
            schedule_id=schedule.id,
            notify=() if schedule.chat_id is not None else self._settings.admins,
        )
        async with in_transaction():
            run = await self._create_run(schedule, requester)
            await Schedule.filter(id=schedule.id).update(last_fired_at=due)
        if run is None:
            await self._notify(
                schedule,
                f"Schedule #{schedule.id}: the upload queue is empty for every selected "
                "account; nothing was posted.",
                kind="queue_empty",
                key=f"schedule:{schedule.id}:empty:{due.isoformat()}",
            )
            return None
        log.info("schedule #%d fired: run #%d", schedule.id, run.id)
        self._on_run_created(run.id)
        return run.id

    async def _create_run(self, schedule: Schedule, requester: Requester) -> Run | None:
        params = schedule.params
        if schedule.kind == RunKind.WARMUP:
            duration = params.get("duration_s", self._settings.warmup_duration_s)
            return await self._runs.create_warmup(
                schedule.selector, duration_s=float(str(duration)), requester=requester
            )
        accounts = await self._runs.select(schedule.selector)
        per_run = int(str(params.get("per_run", 1)))
        pairs = await self._queue.next_for(accounts, per_run)
        if not pairs:
            return None
        return await self._runs.create_upload_pairs(
            pairs, params={"selector": schedule.selector, "per_run": per_run}, requester=requester
        )

    async def _notify(self, schedule: Schedule, text: str, *, kind: str, key: str) -> None:
        chats = [schedule.chat_id] if schedule.chat_id is not None else self._settings.admins
        log.info("%s", text)
        for chat_id in chats:
            dedupe = f"{key}:{chat_id}"[:128]
            if not await Notification.exists(dedupe_key=dedupe):
                await Notification.create(chat_id=chat_id, kind=kind, text=text, dedupe_key=dedupe)
        self._on_notified()


def _missed(schedule: Schedule, now: datetime) -> list[datetime]:
    """Fire times after the last fire (or creation) and up to now."""
    since = schedule.last_fired_at or schedule.created_at
    when = When(schedule.expression, schedule.timezone)
    fires = when.fires_between(since, until=now, anchor=schedule.created_at)
    return [fire for fire in fires if fire > since]

"""Fires schedules on time, once: APScheduler holds the triggers, the database the truth.

At start every enabled schedule is checked for fires missed while fleetbot was down
(counted from ``last_fired_at``, its creation or its last resume): the latest one runs once
if it is at most ``misfire_grace_s`` old; older ones run nothing and produce one
notification. Then one job per schedule is added to an ``AsyncIOScheduler`` with a memory
store, re-synced by ``reload()`` whenever schedules change. A fire creates the run and moves
``last_fired_at`` in one transaction, so a restart never repeats a fire; a fire whose
previous run of the same schedule is still open is skipped and its chat is told. Fires that
APScheduler itself drops (``EVENT_JOB_MAX_INSTANCES``, ``EVENT_JOB_MISSED``) are reported too.
Every fire time, APScheduler's included, comes from automation/when.py: its trigger asks that
evaluator, so the daylight-saving rule (a repeated time fires once, a skipped one once at the
jump) holds for live fires, catch-up and the listed next fires alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from automation.crontab import CronError
from automation.errors import FleetbotError
from automation.runs import Requester, RunService
from automation.schedule_notices import MAX_COUNTED, ScheduleNotices
from automation.videoqueue import VideoQueue
from automation.when import When
from storage.health import STORAGE_ERRORS
from storage.models import Run, RunKind, RunStatus, Schedule, Trigger

log = logging.getLogger(__name__)

_JOB = "schedule-"
_SYNC_ERRORS: tuple[type[BaseException], ...] = (*STORAGE_ERRORS, FleetbotError, ValueError)
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
        self._notices = ScheduleNotices(settings.admins, settings.misfire_grace_s, on_notified)
        self._scheduler: AsyncIOScheduler | None = None
        self._live: dict[str, tuple[str, str, datetime]] = {}
        self._reports: set[asyncio.Task[None]] = set()
        self._reloading = asyncio.Lock()  # a stale reload must not undo a newer one
        self._unusable: set[tuple[int, str]] = set()

    async def __aenter__(self) -> Self:
        if self._scheduler is not None:
            raise RuntimeError("scheduler already started")
        grace = self._settings.misfire_grace_s
        self._scheduler = AsyncIOScheduler(
            timezone=self._settings.timezone,
            job_defaults={"misfire_grace_time": grace, "coalesce": True, "max_instances": 1},
        )
        self._scheduler.add_listener(self._on_dropped, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        self._scheduler.start()  # inside the running loop, as APScheduler requires
        try:
            await self.catch_up()
            await self.reload()
        except BaseException:
            await self._stop()
            raise
        self._scheduler.add_job(
            self._sync,
            "interval",
            seconds=SYNC_S,
            id="sync",
            misfire_grace_time=SYNC_S,
            coalesce=True,
            max_instances=1,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)  # cancels a fire in flight: it rolls back
            self._scheduler = None
            self._live.clear()
        if self._reports:  # short database writes: let them finish
            await asyncio.gather(*self._reports)

    async def reload(self) -> None:
        """Make the live triggers match the enabled schedules in the database.

        Only schedules that were added, removed, paused or changed are touched, so a
        reload never moves a trigger that is about to fire.
        """
        async with self._reloading:
            await self._reload()

    async def _reload(self) -> None:
        if self._scheduler is None:
            return
        enabled = await Schedule.filter(enabled=True).order_by("id")
        scheduler = self._scheduler
        if scheduler is None:  # stopped while the query ran
            return
        wanted = {f"{_JOB}{schedule.id}": schedule for schedule in enabled}
        for job_id in set(self._live) - set(wanted):
            scheduler.remove_job(job_id)
            del self._live[job_id]
        for job_id, schedule in wanted.items():
            signature = (schedule.expression, schedule.timezone, schedule.created_at)
            if self._live.get(job_id) == signature:
                continue
            when = self._usable(schedule)
            if when is None:
                continue
            scheduler.add_job(
                self.fire,
                trigger=when.trigger(schedule.created_at),
                args=[schedule.id],
                id=job_id,
                name=f"{schedule.kind} #{schedule.id}",
                misfire_grace_time=self._settings.misfire_grace_s,
                coalesce=True,
                max_instances=1,
                replace_existing=True,
            )
            self._live[job_id] = signature

    def _usable(self, schedule: Schedule) -> When | None:
        """The schedule's When, or None (warned once) for a row stored under older rules.

        A line accepted before cron lines were read as crontab reads them (``monday``,
        ``5/15``) must not stop every other schedule from starting.
        """
        when = When(schedule.expression, schedule.timezone)
        try:
            if not when.is_interval:
                when.line  # noqa: B018  # parsed here, so a fault surfaces now
        except CronError as exc:
            if (schedule.id, schedule.expression) not in self._unusable:
                self._unusable.add((schedule.id, schedule.expression))
                log.warning("schedule #%d is not scheduled: %s", schedule.id, exc)
            return None
        return when

    async def _sync(self) -> None:
        """Pick up schedules changed by another process (``fleetbot schedules ...``)."""
        try:
            await self.reload()
        except _SYNC_ERRORS as exc:
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
        """Run the latest fire missed within the grace time once; report older ones once."""
        now = now or datetime.now(UTC)
        too_old = now - timedelta(seconds=self._settings.misfire_grace_s)
        for schedule in await Schedule.filter(enabled=True).order_by("id"):
            when, since = self._usable(schedule), counted_from(schedule)
            if when is None:
                continue
            latest = when.latest_fire(since, now, anchor=schedule.created_at)
            if latest is None:
                continue
            old = when.latest_fire(since, too_old, anchor=schedule.created_at)
            if old is not None:
                missed = when.fires_between(
                    since, until=old, count=MAX_COUNTED + 1, anchor=schedule.created_at
                )
                if missed[-1].astimezone(UTC) != old:  # counting stopped early: name the last
                    missed.append(old)
                await _mark_fired(schedule.id, old)
                await self._notices.missed(schedule, missed, "while fleetbot was down")
            if latest > too_old:
                log.info("schedule #%d: catching up the fire due %s", schedule.id, latest)
                await self.fire(schedule.id, due=latest)

    async def fire(
        self, schedule_id: int, due: datetime | None = None, *, now: datetime | None = None
    ) -> int | None:
        """One fire: create the run (or skip, telling the chat); returns the run id.

        ``due`` defaults to the schedule's latest fire time up to ``now``, so the job that
        APScheduler calls records the time it was scheduled for, not when it ran.
        """
        now = now or datetime.now(UTC)
        schedule = await Schedule.get_or_none(id=schedule_id)
        if schedule is None or not schedule.enabled:
            return None
        if due is None:
            when = When(schedule.expression, schedule.timezone)
            due = when.latest_fire(counted_from(schedule), now, schedule.created_at) or now
        due = due.astimezone(UTC)
        try:
            return await self._fire(schedule, due)
        except FleetbotError as exc:  # e.g. its selector matches nothing any more
            await _mark_fired(schedule.id, due)
            await self._notices.failed(schedule, str(exc))
            return None

    async def _fire(self, schedule: Schedule, due: datetime) -> int | None:
        last = schedule.last_fired_at
        if last is not None and due <= last:
            log.info("schedule #%d: the fire due %s has run already", schedule.id, due)
            return None
        still_open = await Run.filter(schedule_id=schedule.id, status__in=RunStatus.open()).first()
        if still_open is not None:
            log.info("schedule #%d skipped %s: run #%d is open", schedule.id, due, still_open.id)
            await _mark_fired(schedule.id, due)
            await self._notices.skipped(schedule, due, still_open)
            return None
        requester = Requester(
            Trigger.SCHEDULE,
            requested_by=f"schedule:{schedule.id}",
            chat_id=schedule.chat_id,
            schedule_id=schedule.id,
            notify=() if schedule.chat_id is not None else self._settings.admins,
        )
        async with in_transaction():
            # Write first: SQLite will not wait for another writer's lock when a transaction
            # that has already read tries to write ("database is locked" at once).
            await _mark_fired(schedule.id, due)
            run = await self._create_run(schedule, requester)
        if run is None:
            await self._notices.queue_empty(schedule)
            return None
        log.info("schedule #%d fired for %s: run #%d", schedule.id, due.isoformat(), run.id)
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

    def _on_dropped(self, event: Any) -> None:
        """APScheduler dropped a fire (the last one still busy, or far too late): report it."""
        if not str(event.job_id).startswith(_JOB):
            return
        due = getattr(event, "scheduled_run_times", None) or [event.scheduled_run_time]
        schedule_id = int(event.job_id[len(_JOB) :])
        report = self._report_dropped(schedule_id, event.code, due[-1].astimezone(UTC))
        task = asyncio.get_running_loop().create_task(report)
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def _report_dropped(self, schedule_id: int, code: int, due: datetime) -> None:
        try:
            schedule = await Schedule.get_or_none(id=schedule_id)
            if schedule is None:
                return
            if code == EVENT_JOB_MISSED:
                await _mark_fired(schedule.id, due)
                await self._notices.missed(schedule, [due], "because fleetbot was stalled")
            else:
                await self._notices.busy(schedule, due)
        except STORAGE_ERRORS as exc:
            log.warning("could not report a dropped fire of schedule #%d: %s", schedule_id, exc)


def counted_from(schedule: Schedule) -> datetime:
    """Where a schedule's due fires start: its last fire, creation or resume, the latest."""
    marks = [mark for mark in (schedule.last_fired_at, schedule.resumed_at) if mark is not None]
    return max([schedule.created_at, *marks])


async def _mark_fired(schedule_id: int, due: datetime) -> None:
    """Move ``last_fired_at`` forward to ``due`` (never back)."""
    later = Q(last_fired_at__isnull=True) | Q(last_fired_at__lt=due)
    await Schedule.filter(later, id=schedule_id).update(last_fired_at=due)

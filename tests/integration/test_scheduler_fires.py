"""Which fires run, which are skipped and who is told: a real scheduler on real SQLite.

No browser here: runs are created and left queued (or finished by hand); the browser tests
in test_scheduler.py drive them. Times in the past or the future are passed as ``now`` to
the same ``fire`` the APScheduler job calls, so no test waits for a wall clock.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from automation.accounts import AccountRow, AccountService
from automation.runs import RunService
from automation.scheduler import FleetScheduler, SchedulerSettings
from automation.schedules import ScheduleService
from automation.sites.demo.samples import write_sample_videos
from automation.videoqueue import VideoQueue
from automation.when import When
from bot.config import Settings
from storage.db import Database
from storage.models import (
    Account,
    ItemStatus,
    Notification,
    Run,
    RunItem,
    RunKind,
    RunStatus,
    Schedule,
    Trigger,
)

ADMINS = (1001, 1002)
CHAT = 555


class Notified:
    """The scheduler's on_notified callback, to wait for a notification without polling."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.event.set()

    async def until(self, **filters: object) -> Notification:
        async with asyncio.timeout(15):
            while True:
                self.event.clear()
                if note := await Notification.filter(**filters).first():
                    return note
                await self.event.wait()


def scheduler_settings(**changes: object) -> SchedulerSettings:
    base = {"timezone": "UTC", "misfire_grace_s": 3600, "warmup_duration_s": 0, "admins": ADMINS}
    return SchedulerSettings(**(base | changes))  # type: ignore[arg-type]


@pytest.fixture
async def runs(db: Database, settings: Settings) -> RunService:
    await AccountService(db.secrets).import_rows(
        [AccountRow(f"demo{k}", "demo", f"demo{k}", f"pw-demo{k}") for k in (1, 2)]
    )
    return RunService(settings.storage.data_dir)


async def add(expression: str, *, created: datetime, tz: str = "UTC", **options) -> Schedule:
    """A warmup schedule as if it had been created at ``created``."""
    view = await ScheduleService("UTC").add("warmup", expression, "all", timezone=tz, **options)
    await Schedule.filter(id=view.id).update(created_at=created)
    return await Schedule.get(id=view.id)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def finish(run_id: int) -> None:
    await Run.filter(id=run_id).update(status=RunStatus.SUCCEEDED, finished_at=datetime.now(UTC))


async def test_the_repeated_autumn_hour_fires_a_daily_schedule_once(runs: RunService) -> None:
    # Berlin goes from CEST to CET at 03:00 on 2027-10-31: 02:30 happens twice and fires
    # once; a call at the second 02:30 (01:30 UTC) finds nothing due.
    schedule = await add("daily 02:30", created=utc(2027, 10, 29), tz="Europe/Berlin")
    scheduler = FleetScheduler(scheduler_settings(), runs)
    first = await scheduler.fire(schedule.id, now=utc(2027, 10, 31, 0, 30, 0, 4000))
    assert first is not None
    await finish(first)
    assert (await Schedule.get(id=schedule.id)).last_fired_at == utc(2027, 10, 31, 0, 30)
    trigger = When(schedule.expression, schedule.timezone).trigger(schedule.created_at)
    assert trigger.get_next_fire_time(utc(2027, 10, 31, 0, 30), utc(2027, 10, 31, 0, 30, 1)) == (
        utc(2027, 11, 1, 1, 30)
    )
    await scheduler.catch_up(now=utc(2027, 10, 31, 1, 30, 0, 3000))  # a restart at the repeat
    assert await Run.filter(schedule_id=schedule.id).count() == 1
    assert not await Notification.exists()
    assert await scheduler.fire(schedule.id, now=utc(2027, 11, 1, 1, 30, 0, 2000)) is not None
    assert await Run.filter(schedule_id=schedule.id).count() == 2


async def test_a_time_skipped_in_spring_fires_once_at_the_first_valid_instant(
    runs: RunService,
) -> None:
    # 02:30 does not exist in Berlin on 2027-03-28; the fire comes once, when the clocks
    # jump from 02:00 CET to 03:00 CEST (01:00 UTC).
    schedule = await add("daily 02:30", created=utc(2027, 3, 26), tz="Europe/Berlin")
    await Schedule.filter(id=schedule.id).update(last_fired_at=utc(2027, 3, 27, 1, 30))
    async with FleetScheduler(scheduler_settings(), runs) as scheduler:
        await scheduler.catch_up(now=utc(2027, 3, 28, 1, 50))
        await scheduler.catch_up(now=utc(2027, 3, 28, 1, 55))
    [run] = await Run.filter(schedule_id=schedule.id)
    assert run.trigger == Trigger.SCHEDULE
    assert (await Schedule.get(id=schedule.id)).last_fired_at == utc(2027, 3, 28, 1, 0)


async def test_live_fires_come_once_at_each_instant_the_evaluator_names(
    runs: RunService, caplog: pytest.LogCaptureFixture
) -> None:
    """What serve runs: APScheduler asks our trigger, and fires each instant at most once."""
    schedule = await add("every 1 second", created=datetime.now(UTC), chat_id=CHAT)
    made: list[int] = []
    arrived = asyncio.Event()

    def on_created(run_id: int) -> None:
        made.append(run_id)
        arrived.set()

    caplog.set_level(logging.INFO, logger="automation.scheduler")
    async with FleetScheduler(scheduler_settings(), runs, on_run_created=on_created):
        async with asyncio.timeout(30):
            finished = 0
            while len(made) < 4:
                await arrived.wait()
                arrived.clear()
                for run_id in made[finished:]:  # a finished run lets the next fire through
                    await finish(run_id)
                finished = len(made)
    fired = [r.args[1] for r in caplog.records if r.msg.startswith("schedule #%d fired for")]
    assert len(fired) == len(made) == await Run.filter(schedule_id=schedule.id).count()
    when = When(schedule.expression, schedule.timezone)
    grid = when.fires_between(
        schedule.created_at, until=datetime.fromisoformat(fired[-1]), anchor=schedule.created_at
    )
    on_grid = {fire.astimezone(UTC).isoformat() for fire in grid}
    assert fired == sorted(set(fired)), fired  # no instant twice, in order
    assert set(fired) <= on_grid, (fired, sorted(on_grid))


async def test_a_row_stored_under_older_rules_does_not_stop_the_others(
    runs: RunService, caplog: pytest.LogCaptureFixture
) -> None:
    """'monday' and '5/15' were accepted before cron lines were read as crontab does."""
    old = await Schedule.create(kind=RunKind.WARMUP, expression="0 9 * * monday", timezone="UTC")
    good = await add("daily 09:00", created=datetime.now(UTC))
    async with FleetScheduler(scheduler_settings(), runs) as scheduler:
        assert [name for name, _ in await scheduler.next_fires()] == [f"warmup #{good.id}"]
        await scheduler.reload()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"schedule #{old.id} is not scheduled: day of week 'monday': 'monday' is not a number "
        "or a day name (sun, mon, tue, ...)"
    ]
    listed = {view.id: view.next_fires for view in await ScheduleService("UTC").list()}
    assert listed[old.id] == [] and len(listed[good.id]) == 3


async def test_fires_due_while_paused_are_not_missed_ones(runs: RunService) -> None:
    now = datetime.now(UTC)
    due = now - timedelta(minutes=20)
    schedule = await add(f"daily {due:%H:%M}", created=now - timedelta(days=5))
    await Schedule.filter(id=schedule.id).update(last_fired_at=due - timedelta(days=3))
    service = ScheduleService("UTC")
    await service.set_enabled(schedule.id, False)
    await service.set_enabled(schedule.id, True)
    async with FleetScheduler(scheduler_settings(), runs):
        pass
    assert not await Run.exists()
    assert not await Notification.exists()


async def test_a_restart_runs_the_recent_fire_and_reports_older_ones_once(
    runs: RunService,
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    due = now - timedelta(minutes=20)
    schedule = await add(f"daily {due:%H:%M}", created=now - timedelta(days=9))
    await Schedule.filter(id=schedule.id).update(last_fired_at=due - timedelta(days=3))
    for _ in range(2):  # the second start finds nothing left to do
        async with FleetScheduler(scheduler_settings(), runs):
            pass
    [run] = await Run.filter(schedule_id=schedule.id)
    assert (run.trigger, run.chat_id, run.params["notify"]) == (
        Trigger.SCHEDULE,
        None,
        list(ADMINS),
    )
    notes = await Notification.filter(kind="schedule_missed").order_by("chat_id")
    assert [n.chat_id for n in notes] == list(ADMINS)
    old = [due - timedelta(days=2), due - timedelta(days=1)]
    assert f"missed 2 fires due {old[0]:%Y-%m-%d %H:%M} UTC to {old[1]:%Y-%m-%d %H:%M}" in (
        notes[0].text
    )
    assert (await Schedule.get(id=schedule.id)).last_fired_at == due


async def test_a_long_outage_of_an_every_second_schedule_is_one_run_and_one_notice(
    runs: RunService,
) -> None:
    now = datetime.now(UTC)
    schedule = await add("every 1 second", created=now - timedelta(hours=5), chat_id=CHAT)
    started = time.monotonic()
    async with FleetScheduler(scheduler_settings(), runs):
        pass
    assert time.monotonic() - started < 5  # no walk over 18,000 missed fires
    assert await Run.filter(schedule_id=schedule.id).count() == 1
    [note] = await Notification.filter(kind="schedule_missed")
    assert note.chat_id == CHAT and "missed more than 1000 fires" in note.text


async def test_an_open_run_skips_later_fires_and_tells_the_chat_once(runs: RunService) -> None:
    schedule = await add("every 1 minute", created=datetime.now(UTC), chat_id=CHAT)
    created: list[int] = []
    scheduler = FleetScheduler(scheduler_settings(), runs, on_run_created=created.append)
    now = datetime.now(UTC)
    first = await scheduler.fire(schedule.id, now=now + timedelta(minutes=1, seconds=1))
    assert first is not None
    for minutes in (2, 3, 4):
        assert await scheduler.fire(schedule.id, now=now + timedelta(minutes=minutes)) is None
    assert created == [first]
    [note] = await Notification.filter(kind="schedule_skipped")
    assert note.chat_id == CHAT and f"run #{first} from an earlier fire is still queued" in (
        note.text
    )
    await finish(first)
    assert await scheduler.fire(schedule.id, now=now + timedelta(minutes=5)) is not None


async def test_a_fire_whose_selector_matches_nothing_is_told_once(runs: RunService) -> None:
    view = await ScheduleService("UTC").add("warmup", "every 1 minute", "ghost", chat_id=CHAT)
    scheduler = FleetScheduler(scheduler_settings(), runs)
    for _ in range(3):
        assert await scheduler.fire(view.id) is None
    [note] = await Notification.filter(kind="schedule_failed")
    assert "no account labelled 'ghost'" in note.text


async def test_summaries_go_to_the_schedules_chat_or_to_every_admin(runs: RunService) -> None:
    scheduler = FleetScheduler(scheduler_settings(), runs)
    service = ScheduleService("UTC")
    from_chat = await service.add("warmup", "every 1 minute", "demo1", chat_id=CHAT)
    from_cli = await service.add("warmup", "every 1 minute", "demo2", created_by="cli")
    for view in (from_chat, from_cli):
        run_id = await scheduler.fire(view.id)
        assert run_id is not None
        await RunItem.filter(run_id=run_id).update(status=ItemStatus.SUCCEEDED)
        await runs.settle(run_id)
    notes = await Notification.filter(kind="run_summary").order_by("id")
    assert [n.chat_id for n in notes] == [CHAT, *ADMINS]


async def test_reload_follows_the_database(runs: RunService) -> None:
    service = ScheduleService("UTC")
    async with FleetScheduler(scheduler_settings(), runs) as scheduler:
        with pytest.raises(RuntimeError, match="already started"):
            await scheduler.__aenter__()
        assert await scheduler.next_fires() == []
        daily = await service.add("warmup", "daily 09:00", "all")
        hourly = await service.add("upload", "every 1 hour", "all")
        await scheduler.reload()
        fires = await scheduler.next_fires()
        assert dict(fires) == {
            f"warmup #{daily.id}": daily.next_fires[0],
            f"upload #{hourly.id}": hourly.next_fires[0],
        }
        assert fires == sorted(fires, key=lambda fire: fire[1])
        await service.set_enabled(daily.id, False)
        await service.remove(hourly.id)
        await scheduler.reload()
        assert await scheduler.next_fires() == []
        await service.set_enabled(daily.id, True)
        await scheduler.reload()
        assert [name for name, _ in await scheduler.next_fires()] == [f"warmup #{daily.id}"]


async def test_a_failed_upload_stays_queued_for_that_account(
    runs: RunService, tmp_path: Path
) -> None:
    queue = VideoQueue(runs)
    first, second = [await queue.add_file(p) for p in write_sample_videos(tmp_path / "v", 2)]
    demo1, demo2 = await Account.all().order_by("label")
    run = await Run.create(kind=RunKind.UPLOAD, trigger=Trigger.CLI)
    await RunItem.create(run=run, account=demo1, video=first, status=ItemStatus.FAILED)
    await RunItem.create(run=run, account=demo2, video=first, status=ItemStatus.SUCCEEDED)
    pairs = await queue.next_for([demo1, demo2], per_run=1)
    assert [(a.label, v.id) for a, v in pairs] == [("demo1", first.id), ("demo2", second.id)]
    two = await queue.next_for([demo1, demo2], per_run=2)
    assert [(a.label, v.id) for a, v in two] == [
        ("demo1", first.id),
        ("demo1", second.id),
        ("demo2", second.id),
    ]


@pytest.fixture
def dropped_fires() -> Iterator[threading.Event]:
    """Set when APScheduler logs that it dropped a fire because the last one still runs."""
    seen = threading.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "maximum number of running instances reached" in record.getMessage():
                seen.set()

    handler, logger = Watch(), logging.getLogger("apscheduler.scheduler")
    logger.addHandler(handler)
    yield seen
    logger.removeHandler(handler)


async def test_a_fire_dropped_while_the_last_one_is_stuck_is_reported(
    runs: RunService, settings: Settings, dropped_fires: threading.Event
) -> None:
    await add("every 1 second", created=datetime.now(UTC), chat_id=CHAT)

    def hold_the_database() -> bool:
        # Another writer holds SQLite, so the next fire waits in its busy timeout while
        # APScheduler's following tick finds it still running.
        conn = sqlite3.connect(settings.storage.sqlite_path, timeout=5)
        try:
            conn.execute("BEGIN IMMEDIATE")
            return dropped_fires.wait(timeout=8)
        finally:
            conn.rollback()
            conn.close()

    notified = Notified()
    async with FleetScheduler(scheduler_settings(), runs, on_notified=notified):
        assert await asyncio.to_thread(hold_the_database), "APScheduler never dropped a fire"
        note = await notified.until(text__contains="still being handled")
    assert (note.kind, note.chat_id) == ("schedule_skipped", CHAT)
    assert await Run.exists()  # the fire that was stuck went through once the lock was gone


def stall_event_loop(seconds: float) -> None:
    """Block the loop, as a suspended laptop or a stuck synchronous call would."""
    time.sleep(seconds)


async def test_a_fire_apscheduler_missed_while_the_loop_stalled_is_reported(
    runs: RunService,
) -> None:
    await add("every 4 seconds", created=datetime.now(UTC), chat_id=CHAT)
    notified = Notified()
    settings = scheduler_settings(misfire_grace_s=1)
    async with FleetScheduler(settings, runs, on_notified=notified) as scheduler:
        [(_, due)] = await scheduler.next_fires()
        # Wake 2 s after the fire was due: past its 1 s grace, 2 s before the next one.
        stall_event_loop((due - datetime.now(UTC)).total_seconds() + 2)
        note = await notified.until(kind="schedule_missed")
    assert "because fleetbot was stalled" in note.text and note.chat_id == CHAT
    assert (await Schedule.get(chat_id=CHAT)).last_fired_at is not None  # handled for good

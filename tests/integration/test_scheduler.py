"""The real scheduler over the real runner: on time, once, after downtime, one per database."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest

from automation.browser import BrowserPool
from automation.runner import Runner
from automation.scheduler import FleetScheduler, SchedulerSettings
from automation.schedules import ScheduleService
from automation.sites.demo.samples import write_sample_videos
from automation.videoqueue import VideoQueue
from storage.locks import ServeLock, ServeLocked
from storage.models import Notification, Run, RunStatus, Schedule, Trigger
from tests.helpers import RecordingReporter
from tests.integration.conftest import Engine, posts_of

ADMINS = (1001,)


def scheduler_settings(**changes: object) -> SchedulerSettings:
    base = {"timezone": "UTC", "misfire_grace_s": 3600, "warmup_duration_s": 0, "admins": ADMINS}
    return SchedulerSettings(**(base | changes))  # type: ignore[arg-type]


@asynccontextmanager
async def serving_runner(engine: Engine, reporter: RecordingReporter) -> AsyncIterator[Runner]:
    config = engine.automation()
    async with BrowserPool(config) as pool, engine.runner(pool, config, reporter) as runner:
        task = asyncio.create_task(runner.serve())
        try:
            yield runner
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


async def test_every_two_seconds_fires_repeatedly_without_overlap(engine: Engine) -> None:
    await engine.add_demo_accounts(2)
    await ScheduleService("UTC").add("warmup", "every 2 seconds", "all", duration_s=0)
    finished = RecordingReporter()
    async with serving_runner(engine, finished) as runner:
        settings = scheduler_settings()
        async with FleetScheduler(settings, engine.runs, on_run_created=lambda _: runner.wake()):
            async with asyncio.timeout(10):
                await finished.wait_finished(2)
    runs = await Run.filter(trigger=Trigger.SCHEDULE).order_by("id")
    done = [r for r in runs if r.status == RunStatus.SUCCEEDED]
    assert len(done) >= 2
    assert all(r.schedule_id is not None for r in runs)
    spans = sorted((r.started_at, r.finished_at) for r in done if r.started_at)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end is not None and start >= end, "two runs of one schedule overlapped"


async def add_daily(due: datetime, last_fired: datetime) -> Schedule:
    view = await ScheduleService("UTC").add("warmup", f"daily {due:%H:%M}", "all")
    created = last_fired - timedelta(days=1)
    await Schedule.filter(id=view.id).update(last_fired_at=last_fired, created_at=created)
    return await Schedule.get(id=view.id)


async def test_a_recent_missed_fire_runs_once_at_start(engine: Engine) -> None:
    await engine.add_demo_accounts(1)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    schedule = await add_daily(now - timedelta(minutes=20), now - timedelta(minutes=30))
    created: list[int] = []
    async with FleetScheduler(scheduler_settings(), engine.runs, on_run_created=created.append):
        pass
    async with FleetScheduler(scheduler_settings(), engine.runs, on_run_created=created.append):
        pass  # a second start finds nothing more to catch up
    runs = await Run.filter(schedule_id=schedule.id)
    assert len(runs) == 1 and created == [runs[0].id]
    assert runs[0].trigger == Trigger.SCHEDULE
    assert not await Notification.filter(kind="schedule_missed").exists()


async def test_an_old_missed_fire_is_reported_not_run(engine: Engine) -> None:
    await engine.add_demo_accounts(1)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    schedule = await add_daily(now - timedelta(hours=3), now - timedelta(hours=3, minutes=10))
    for _ in range(2):
        async with FleetScheduler(scheduler_settings(), engine.runs):
            pass
    assert not await Run.filter(schedule_id=schedule.id).exists()
    notes = await Notification.filter(kind="schedule_missed")
    assert [n.chat_id for n in notes] == list(ADMINS)
    assert f"Schedule #{schedule.id}" in notes[0].text


async def test_upload_queue_posts_each_video_once_per_account_in_order(
    engine: Engine, tmp_path
) -> None:
    await engine.add_demo_accounts(2)
    queue = VideoQueue(engine.runs)
    videos = [await queue.add_file(p) for p in write_sample_videos(tmp_path / "v", 3)]
    view = await ScheduleService("UTC").add("upload", "daily 03:00", "all", per_run=1)
    finished = RecordingReporter()
    async with serving_runner(engine, finished) as runner:
        scheduler = FleetScheduler(
            scheduler_settings(), engine.runs, on_run_created=lambda _: runner.wake()
        )
        async with scheduler:
            for fire in range(1, 4):
                assert await scheduler.fire(view.id) is not None
                async with asyncio.timeout(60):
                    await finished.wait_finished(fire)
            assert await scheduler.fire(view.id) is None
    assert [r.status for r in finished.finished] == ["succeeded"] * 3
    markers = [f"fb-{v.sha256[:12]}" for v in videos]
    for user in ("demo1", "demo2"):
        titles = [p["title"] for p in await posts_of(engine.site_url, user)]  # newest first
        posted = [next(m for m in markers if m in title) for title in reversed(titles)]
        assert posted == markers  # each video once, in queue order
    empty = await Notification.filter(kind="queue_empty")
    assert len(empty) == 1 and "empty" in empty[0].text


async def test_one_scheduler_per_database(engine: Engine) -> None:
    async with ServeLock(engine.settings.storage):
        with pytest.raises(ServeLocked) as caught:
            async with ServeLock(engine.settings.storage):
                pass
        assert "pid" in str(caught.value)
    async with ServeLock(engine.settings.storage):  # released on exit
        pass

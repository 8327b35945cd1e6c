"""/schedule, /schedules, /unschedule, /pause, /resume, /videos, and videos captioned /queue."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from automation.scheduler import FleetScheduler
from automation.schedules import ScheduleService, ScheduleView, format_fire
from automation.videoqueue import VideoQueue
from bot.i18n import Texts
from bot.media import MediaIntake, video_file
from bot.parsing import UsageError, parse_schedule_id, split_args
from bot.views import fit


def make_router() -> Router:
    """A fresh router for the schedule commands and the upload queue."""
    router = Router(name="schedules")
    router.message.register(add_schedule, Command("schedule"))
    router.message.register(list_schedules, Command("schedules"))
    router.message.register(change_schedule, Command("unschedule", "pause", "resume"))
    router.message.register(list_videos, Command("videos"))
    router.message.register(queue_video, Command("queue"))
    return router


def parse_schedule(args: list[str]) -> dict[str, object]:
    """KIND WHEN [SELECTOR] [tz=ZONE] [per_run=N] [duration=S]."""
    options: dict[str, object] = {}
    words = []
    for word in args:
        key, sep, value = word.partition("=")
        if sep and key in {"tz", "per_run", "duration"}:
            if key == "tz":
                options["timezone"] = value
            elif not (value.isascii() and value.isdigit()):  # '²' is a digit to isdigit()
                raise UsageError("usage", command="schedule")
            elif key == "per_run":
                options["per_run"] = int(value)
            else:
                options["duration_s"] = float(value)
        else:
            words.append(word)
    if len(words) not in {2, 3}:
        raise UsageError("usage", command="schedule")
    options["kind"], options["expression"] = words[0], words[1]
    options["selector"] = words[2] if len(words) == 3 else "all"
    return options


def schedule_line(t: Texts, schedule: ScheduleView) -> str:
    """One schedule and its next fires."""
    fires = ", ".join(format_fire(fire) for fire in schedule.next_fires)
    return t(
        "schedule-line",
        id=schedule.id,
        kind=schedule.kind,
        when=schedule.expression,
        zone=schedule.timezone,
        selector=schedule.selector,
        state="on" if schedule.enabled else "paused",
        fires=fires or "-",
    )


async def add_schedule(
    message: Message, t: Texts, schedules: ScheduleService, scheduler: FleetScheduler
) -> None:
    """/schedule KIND WHEN [SELECTOR] [tz=ZONE] [per_run=N]."""
    options = parse_schedule(split_args(message.text))
    user = message.from_user
    view = await schedules.add(
        str(options.pop("kind")),
        str(options.pop("expression")),
        str(options.pop("selector")),
        chat_id=message.chat.id,
        created_by=str(user.id) if user else None,
        **options,  # type: ignore[arg-type]
    )
    await scheduler.reload()
    await message.answer(t("schedule-added", line=schedule_line(t, view)))


async def list_schedules(message: Message, t: Texts, schedules: ScheduleService) -> None:
    """/schedules."""
    views = await schedules.list()
    if not views:
        await message.answer(t("schedules-empty"))
        return
    await message.answer(fit("\n".join(schedule_line(t, v) for v in views)))


async def change_schedule(
    message: Message, t: Texts, schedules: ScheduleService, scheduler: FleetScheduler
) -> None:
    """/unschedule ID, /pause ID, /resume ID."""
    command = (message.text or "").split()[0].lstrip("/").split("@")[0]
    schedule_id = parse_schedule_id(split_args(message.text), command)
    if command == "unschedule":
        await schedules.remove(schedule_id)
        await scheduler.reload()
        await message.answer(t("schedule-removed", id=schedule_id))
        return
    view = await schedules.set_enabled(schedule_id, command == "resume")
    await scheduler.reload()
    await message.answer(schedule_line(t, view))


async def list_videos(message: Message, t: Texts, queue: VideoQueue) -> None:
    """/videos: the upload queue."""
    videos = await queue.queued()
    if not videos:
        await message.answer(t("videos-empty"))
        return
    lines = [t("videos-head", count=len(videos))]
    lines += [f"#{v.id} {v.original_name} ({v.size / 2**20:.1f} MB)" for v in videos]
    await message.answer(fit("\n".join(lines)))


async def queue_video(message: Message, t: Texts, queue: VideoQueue, media: MediaIntake) -> None:
    """A video captioned /queue joins the upload queue."""
    file = video_file(message)
    if file is None:
        await message.answer(t("queue-needs-video"))
        return
    video = await queue.enqueue(await media.store_video(file.file_id, file.file_size))
    await message.answer(t("video-queued", id=video.id, position=video.queue_position or 0))

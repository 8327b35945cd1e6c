"""/warmup, /upload, /runs, /run, /cancel, /retry and the summary's buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from automation.runs import Requester, RunService
from bot.config import Settings
from bot.i18n import Texts
from bot.launcher import Launcher
from bot.media import MediaIntake, video_file
from bot.parsing import (
    UsageError,
    is_id,
    parse_run_id,
    parse_selector,
    parse_warmup,
    split_args,
)
from bot.views import run_detail_text, runs_text
from storage.models import Trigger


def make_router() -> Router:
    """A fresh router for the run commands and the summary's buttons."""
    router = Router(name="runs")
    router.message.register(warmup, Command("warmup"))
    router.message.register(upload, Command("upload"))
    router.message.register(recent_runs, Command("runs"))
    router.message.register(show_run, Command("run"))
    router.message.register(cancel_run, Command("cancel"))
    router.message.register(retry_run, Command("retry"))
    router.callback_query.register(run_button, F.data.startswith("run:"))
    return router


def requester(message: Message) -> Requester:
    """Who asked, for the Run row."""
    user = message.from_user
    return Requester(
        Trigger.MANUAL, requested_by=str(user.id) if user else None, chat_id=message.chat.id
    )


async def warmup(
    message: Message,
    lang: str,
    settings: Settings,
    runs: RunService,
    launcher: Launcher,
) -> None:
    """/warmup [SELECTOR] [DURATION]."""
    selector, duration_s = parse_warmup(
        split_args(message.text), settings.automation.warmup_duration_s
    )
    run = await runs.create_warmup(selector, duration_s=duration_s, requester=requester(message))
    await launcher.launch(run, message.chat.id, lang)


async def upload(
    message: Message,
    *,
    t: Texts,
    lang: str,
    runs: RunService,
    media: MediaIntake,
    launcher: Launcher,
) -> None:
    """/upload [SELECTOR] as a video's caption or a reply to a video."""
    selector = parse_selector(split_args(message.text or message.caption), "upload")
    file = video_file(message) or video_file(message.reply_to_message)
    if file is None:
        await message.answer(t("upload-needs-video"))
        return
    video = await media.store_video(file.file_id, file.file_size)  # too big: ReplyErrors
    run = await runs.create_upload(selector, [video], requester=requester(message))
    await launcher.launch(run, message.chat.id, lang)


async def recent_runs(message: Message, t: Texts, runs: RunService) -> None:
    """/runs: the latest runs."""
    await message.answer(runs_text(t, await runs.recent(10)))


async def show_run(message: Message, t: Texts, runs: RunService) -> None:
    """/run ID: one run's outcomes."""
    run_id = parse_run_id(split_args(message.text), "run")
    await message.answer(run_detail_text(t, await runs.summary(run_id)))


async def cancel_run(message: Message, t: Texts, runs: RunService) -> None:
    """/cancel ID."""
    run_id = parse_run_id(split_args(message.text), "cancel")
    summary = await runs.cancel(run_id)
    await message.answer(t("run-cancelled", run_id=run_id, status=summary.status))


async def retry_run(
    message: Message, t: Texts, lang: str, runs: RunService, launcher: Launcher
) -> None:
    """/retry ID: a new run of the failed items."""
    run_id = parse_run_id(split_args(message.text), "retry")
    await _retry(
        message, run_id, who=requester(message), t=t, lang=lang, runs=runs, launcher=launcher
    )


async def _retry(
    message: Message,
    run_id: int,
    *,
    who: Requester,
    t: Texts,
    lang: str,
    runs: RunService,
    launcher: Launcher,
) -> None:
    run = await runs.retry_failed(run_id, who)
    total = (await runs.progress(run)).total
    await message.answer(t("run-retry", run_id=run_id, new_id=run.id, total=total))
    await launcher.launch(run, message.chat.id, lang)


async def run_button(
    query: CallbackQuery, t: Texts, lang: str, runs: RunService, launcher: Launcher
) -> None:
    """The summary's 'Retry failed' and 'Details' buttons."""
    # Data comes from the client: it may lack a field or hold '²', not only what we sent.
    action, _, raw_id = (query.data or "").removeprefix("run:").partition(":")
    message = query.message
    if not is_id(raw_id) or raw_id.startswith("#") or not isinstance(message, Message):
        await query.answer()
        return
    run_id = int(raw_id)
    # A query is answered once: on an error ReplyErrors answers it with the message, so
    # answer only after the step that may fail.
    if action == "retry":
        who = Requester(
            Trigger.MANUAL, requested_by=str(query.from_user.id), chat_id=message.chat.id
        )
        await _retry(message, run_id, who=who, t=t, lang=lang, runs=runs, launcher=launcher)
        await query.answer()
    elif action == "show":
        text = run_detail_text(t, await runs.summary(run_id))
        await query.answer()
        await message.answer(text)
    else:
        raise UsageError("usage", command="run")

"""Live progress in Telegram: one message per run, edited as items settle.

The message id and the chat's language are kept in the run's params, so a restarted
process goes on editing the same message. Edits happen at most every
``bot.progress_edit_s`` seconds, never repeat the current text, and are sent in a turn of
the flood gate the outbox shares, so never inside a ``retry_after`` window; an edit
refused with ``retry_after`` is drawn again once the window has passed (the final bar
included). The text is drawn from the counts the runner already computed for its event
(``RunProgress``): an edit costs no query, however large the run. Progress is a courtesy:
an edit that fails otherwise is logged and forgotten; the summary goes through the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter

from automation.reporting import ItemEvent
from automation.summary import RunProgress, RunSummary, load_progress
from bot.floodgate import ChatGate, Turn
from bot.i18n import texts
from bot.outbox import Outbox
from bot.views import progress_text
from storage.health import STORAGE_ERRORS, describe
from storage.models import Run, RunStatus

log = logging.getLogger(__name__)
FINISHED_REMEMBERED = 1024  # final bars done, so the runner and the watch do not both draw one


@dataclass
class _Message:
    chat_id: int
    message_id: int
    language: str
    progress: RunProgress | None = None  # the newest counts, shown at the next edit
    final: bool = False  # the run's summary is in: later item events are stale
    text: str = ""
    next_edit_at: float = 0.0  # monotonic; the throttle
    dirty: bool = False
    pending: asyncio.Task[None] | None = field(default=None, repr=False)


async def attach_progress(run_id: int, chat_id: int, message_id: int, language: str) -> None:
    """Remember which message shows this run's progress (stored with the run)."""
    run = await Run.get(id=run_id)
    run.params = dict(run.params) | {
        "progress_chat_id": chat_id,
        "progress_message_id": message_id,
        "lang": language,
    }
    await run.save(update_fields=["params"])


class TelegramReporter:
    """The runner's Reporter for Telegram: throttled progress edits, outbox for summaries."""

    def __init__(self, bot: Bot, gate: ChatGate, outbox: Outbox, edit_every_s: float) -> None:
        self._bot = bot
        self._gate = gate
        self._outbox = outbox
        self._every = edit_every_s
        self._messages: dict[int, _Message] = {}
        self._finished: dict[int, None] = {}  # runs whose final bar is done or under way
        self.edits = 0

    async def item_event(self, event: ItemEvent, progress: RunProgress) -> None:
        """An item moved: refresh the run's progress message (throttled)."""
        message = await self._message(event.run_id, finished_ok=False)
        if message is None or message.final:
            return
        # Events of concurrent items may arrive out of order; settled items only grow,
        # so the counts with more of them are the newer ones.
        if message.progress is None or progress.settled >= message.progress.settled:
            message.progress = progress
        self._schedule(event.run_id, message)

    async def run_finished(self, summary: RunSummary) -> None:
        """The summary row is already in the outbox: send it now, show the final bar."""
        await self.finished(summary.progress)

    async def counted(self, progress: RunProgress) -> None:
        """Counts read from the database (``ProgressWatch``): show them if they are newer."""
        message = await self._message(progress.run_id, finished_ok=False)
        if message is None or message.final:
            return
        shown = message.progress
        if shown is not None and (
            progress.settled < shown.settled
            or (progress.status, progress.counts) == (shown.status, shown.counts)
        ):
            return  # older, or nothing moved (only the elapsed time would change)
        message.progress = progress
        self._schedule(progress.run_id, message)

    async def finished(self, progress: RunProgress) -> None:
        """The run is over (its summary row is in the outbox): wake the outbox, final bar."""
        if progress.run_id in self._finished:
            return  # told by the runner and by the watch: one final bar
        self._outbox.wake()
        message = await self._message(progress.run_id, finished_ok=True)
        if message is None or progress.run_id in self._finished:
            return  # no message yet (``attached`` draws the bar), or drawn meanwhile
        self._finished[progress.run_id] = None
        while len(self._finished) > FINISHED_REMEMBERED:
            del self._finished[next(iter(self._finished))]
        message.progress = progress
        message.final = True
        # The summary matters more than the bar: give the outbox one throttle period past
        # the chat's current window to take its turn first (the gate then spaces the two),
        # instead of racing it for the turn when the window ends.
        after = self._gate.wait_s(message.chat_id) + self._every
        message.next_edit_at = max(message.next_edit_at, time.monotonic() + after)
        self._schedule(progress.run_id, message)

    async def attached(self, run_id: int) -> None:
        """The run's progress message was just attached: a run that ended before that
        (a quick one) gets its final bar now, since nobody else will draw it."""
        run = await Run.get_or_none(id=run_id)
        if run is not None and run.finished_at is not None:
            await self.finished(await load_progress(run))

    async def close(self) -> None:
        """Drop pending edits (at shutdown)."""
        tasks = [m.pending for m in self._messages.values() if m.pending is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _message(self, run_id: int, *, finished_ok: bool) -> _Message | None:
        if (known := self._messages.get(run_id)) is not None:
            return known
        # Once per run and process: where its progress message is.
        run = await Run.get_or_none(id=run_id)
        if run is None or "progress_message_id" not in run.params:
            return None  # not a Telegram run, or its message is not attached yet
        if run.finished_at is not None and not finished_ok:
            return None  # a late event of a finished run: its final text is shown
        if (known := self._messages.get(run_id)) is not None:
            return known  # another event loaded it meanwhile: one message, one edit loop
        params = run.params
        message = _Message(
            chat_id=int(str(params["progress_chat_id"])),
            message_id=int(str(params["progress_message_id"])),
            language=str(params.get("lang") or "en"),
        )
        self._messages[run_id] = message
        return message

    def _schedule(self, run_id: int, message: _Message) -> None:
        message.dirty = True
        if message.pending is None or message.pending.done():
            message.pending = asyncio.create_task(
                self._edit_when_allowed(run_id, message), name=f"progress-{run_id}"
            )

    async def _edit_when_allowed(self, run_id: int, message: _Message) -> None:
        while message.dirty:
            if (wait := message.next_edit_at - time.monotonic()) > 0:
                # The throttle window itself, not a polled condition; look again after it,
                # as run_finished may have pushed its end meanwhile.
                await asyncio.sleep(wait)
                continue
            message.dirty = False
            async with self._gate.turn(message.chat_id) as turn:
                # Drawn once the turn is ours: the newest counts, no await before the send.
                assert message.progress is not None
                text = progress_text(texts(message.language), message.progress)
                drew_final = message.final  # the run may end while this edit is out
                if text != message.text:
                    await self._edit(message, text, turn)
            if drew_final and not message.dirty:
                self._messages.pop(run_id, None)
                return

    async def _edit(self, message: _Message, text: str, turn: Turn) -> None:
        message.next_edit_at = time.monotonic() + self._every
        try:
            await self._bot.edit_message_text(
                text=text, chat_id=message.chat_id, message_id=message.message_id
            )
        except TelegramRetryAfter as exc:
            turn.retry_after(exc.retry_after)
            message.dirty = True  # drawn again once the chat's window has passed
            return
        except (TelegramAPIError, TelegramNetworkError) as exc:
            log.info("progress edit in chat %d skipped: %s", message.chat_id, exc)
            return
        message.text = text
        self.edits += 1
        turn.sent()


class ProgressWatch:
    """Progress for runs that another process drives (a ``fleetbot worker``), from the database.

    A worker's items send no events to ``serve``; every ``every_s`` the watch lists the open
    runs, counts the items of each one that has a progress message (one aggregate query per
    run) and gives the counts to the reporter, which edits only when they moved. A run seen
    open and then over gets its final bar (and wakes the outbox for its summary). Runs this
    process drives are counted too: the reporter keeps the newest counts from either side.
    """

    def __init__(self, reporter: TelegramReporter, every_s: float) -> None:
        self._reporter = reporter
        self._every = every_s
        self._open: set[int] = set()

    async def run(self) -> None:
        """Watch until cancelled; a failing database skips a round (the outbox says why)."""
        while True:
            await asyncio.sleep(self._every)  # a period: workers tell this process nothing
            try:
                await self.look()
            except STORAGE_ERRORS as exc:
                log.debug("progress watch skipped a round: %s", describe(exc))
            except Exception:  # progress is a courtesy: a bug here must not stop serve
                log.exception("progress watch round failed")

    async def look(self) -> None:
        """One round: counts for the open runs, final bars for those that ended since."""
        runs = await Run.filter(status__in=RunStatus.open())
        shown = [run for run in runs if "progress_message_id" in run.params]
        for run in shown:
            await self._reporter.counted(await load_progress(run))
        ended = self._open - {run.id for run in shown}
        self._open = {run.id for run in shown}
        for run in await Run.filter(id__in=ended, finished_at__isnull=False):
            await self._reporter.finished(await load_progress(run))

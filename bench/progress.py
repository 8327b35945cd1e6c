"""The reporters the scale scenario can run with: none, or Telegram progress as serve has it.

``telegram`` is the real ``bot.progress.TelegramReporter``, built the way ``bot/app.py``
builds it, over a real aiogram ``Bot`` pointed at the fake Bot API of tests/fake_telegram.py,
with the run's progress message attached as ``/warmup`` attaches it. So the figures include
everything serve's progress costs this process: its database reads, rendering the text,
aiogram's HTTP requests for the throttled edits, and the fake server answering them (in this
process too: a small, per-edit share).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from automation.reporting import NullReporter, Reporter
from automation.runs import RunService
from bot.config import BotConfig
from bot.floodgate import ChatGate
from bot.outbox import Outbox
from bot.progress import TelegramReporter, attach_progress

ReporterKind = Literal["none", "telegram"]
TOKEN = "123456:scale-bench-token"
CHAT = 1001
INCLUDED = {
    "none": "NullReporter: the runner alone",
    "telegram": (
        "bot.progress.TelegramReporter against the fake Bot API (in this process), "
        "edits every bot.progress_edit_s"
    ),
}


@dataclass
class Reporting:
    """The reporter handed to the runner, and how many progress edits it made."""

    reporter: Reporter
    telegram: TelegramReporter | None = None

    @property
    def edits(self) -> int | None:
        """Progress messages edited so far (None without Telegram)."""
        return self.telegram.edits if self.telegram is not None else None


@asynccontextmanager
async def reporting(kind: ReporterKind, runs: RunService, run_id: int) -> AsyncIterator[Reporting]:
    """The reporter of this kind for one run, closed (pending edits dropped) on exit."""
    if kind == "none":
        yield Reporting(NullReporter())
        return
    from tests.fake_telegram import FakeBotAPI  # noqa: PLC0415 - test code, only for this kind

    async with FakeBotAPI(token=TOKEN) as api:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url)))
        try:
            gate = ChatGate()
            outbox = Outbox(bot, runs, gate, default_language="en", send_screenshots=False)
            reporter = TelegramReporter(bot, gate, outbox, BotConfig().progress_edit_s)
            message = await bot.send_message(CHAT, f"Run #{run_id} (warmup) queued")
            await attach_progress(run_id, CHAT, message.message_id, "en")
            try:
                yield Reporting(reporter, reporter)
            finally:
                await reporter.close()
        finally:
            await bot.session.close()

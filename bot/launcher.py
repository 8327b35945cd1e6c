"""Start a run from a chat: the Run row first, then the runner, then the progress message."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

from automation.runs import RunService
from bot.i18n import texts
from bot.progress import attach_progress
from bot.views import progress_text
from storage.models import Run

log = logging.getLogger(__name__)


class Launcher:
    """Hands a freshly committed run to the runner and shows its progress message."""

    def __init__(
        self,
        bot: Bot,
        runs: RunService,
        wake_runner: Callable[[], None],
        on_attached: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self._bot = bot
        self._runs = runs
        self._wake_runner = wake_runner
        self._on_attached = on_attached  # the reporter's: a run already over gets its bar

    async def launch(self, run: Run, chat_id: int, language: str) -> None:
        """The run is already committed; a lost progress message loses nothing else."""
        self._wake_runner()
        progress = await self._runs.progress(run)
        try:
            message = await self._bot.send_message(
                chat_id, progress_text(texts(language), progress)
            )
        except (TelegramAPIError, TelegramNetworkError) as exc:
            log.info("run #%d: no progress message in chat %d: %s", run.id, chat_id, exc)
            return
        await attach_progress(run.id, chat_id, message.message_id, language)
        if self._on_attached is not None:
            await self._on_attached(run.id)

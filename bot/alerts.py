"""Storage alerts: the admins hear directly when the database fails and when it is back.

These messages cannot go through the outbox, which is a table in the failing database, so
they are sent at once and at most once per change; if Telegram is unreachable too, the log
line written by ``StorageHealth`` is the record.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.i18n import texts

log = logging.getLogger(__name__)

MIN_GAP_S = 300.0  # a flapping database produces one "failing" alert per five minutes


class StorageAlerts:
    """A ``StorageHealth`` listener that messages every admin."""

    def __init__(self, bot: Bot, admins: tuple[int, ...], language: str) -> None:
        self._bot = bot
        self._admins = admins
        self._language = language
        self._last_failing = -MIN_GAP_S
        self._told_failing = False
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, problem: str | None) -> None:
        """Called by StorageHealth on a change; sends in the background."""
        t = texts(self._language)
        if problem is not None:
            if time.monotonic() - self._last_failing < MIN_GAP_S:
                return
            self._last_failing = time.monotonic()
            self._told_failing = True
            text = t("storage-failing", problem=problem)
        elif self._told_failing:
            self._told_failing = False
            text = t("storage-recovered")
        else:
            return
        task = asyncio.get_running_loop().create_task(self._send(text), name="storage-alert")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, text: str) -> None:
        for admin in self._admins:
            try:
                await self._bot.send_message(admin, text)
            except TelegramAPIError as exc:
                log.warning("storage alert to chat %d not sent: %s", admin, type(exc).__name__)

    async def close(self) -> None:
        """Let alerts in flight finish (they are short)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

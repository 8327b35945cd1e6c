"""The outbox: every message the bot owes a chat is a Notification row first.

One sender task delivers them in id order per chat, each send in a turn of the flood
gate it shares with progress edits (``bot/floodgate.py``). On ``TelegramRetryAfter`` it
waits exactly ``retry_after`` for that chat and nothing is sent there meanwhile; network
errors and 5xx are retried with backoff; a chat gets about one message per second; rows
left unsent by a crash are sent after the restart. Delivery is at least once: a crash
between Telegram's answer and the row's update can repeat that one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, ForceReply, FSInputFile, InputMediaPhoto
from tortoise.transactions import in_transaction

from automation.notifications import enqueue
from automation.runs import RunService
from bot.floodgate import ChatGate, Turn
from bot.i18n import texts
from bot.views import summary_keyboard, summary_text
from storage.crypto import SecretBox
from storage.health import STORAGE_ERRORS, describe
from storage.models import AskedQuestion, ItemStatus, Notification, NotificationStatus, Run

log = logging.getLogger(__name__)

POLL_S = 1.0
BUSY_S = 0.1  # a chat whose turn another sender holds: look again this soon
MAX_BACKOFF_S = 60.0
# Retrying while the Bot API is unreachable is free for Telegram, and the sooner a retry
# comes after it is back, the sooner owed messages arrive: keep these retries close.
MAX_NETWORK_BACKOFF_S = 10.0
ALBUM_SIZE = 10
_PERMANENT = (TelegramBadRequest, TelegramForbiddenError, TelegramNotFound)


class Outbox:
    """Delivers Notification rows; ``run()`` is the one sender task."""

    def __init__(
        self,
        bot: Bot,
        runs: RunService,
        gate: ChatGate,
        *,
        default_language: str,
        send_screenshots: bool,
        secrets: SecretBox | None = None,
    ) -> None:
        self._bot = bot
        self._runs = runs
        self._gate = gate
        self._language = default_language
        self._screenshots = send_screenshots
        self._secrets = secrets  # opens question screenshots; without it, text only
        self._wake = asyncio.Event()
        self._stopping = False
        self.delivered = 0

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Have ``run()`` return after the pass in hand, its deliveries done.

        Cancelling ``run()`` instead could stop a delivery between Telegram's answer and
        the row marked sent, and the shutdown's ``flush`` would then send it a second time.
        """
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Send due notifications until cancelled or stopped."""
        failing = False  # said once per outage, not every pass
        while not self._stopping:
            self._wake.clear()
            try:
                delay = await self.send_due()
            except STORAGE_ERRORS as exc:  # database trouble: keep going
                level = logging.DEBUG if failing else logging.WARNING
                log.log(level, "outbox cannot use the database: %s", describe(exc))
                failing, delay = True, POLL_S
            else:
                if failing:
                    log.info("outbox can use the database again")
                failing = False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def flush(self, timeout_s: float) -> int:
        """At shutdown: send what can be sent within timeout_s; returns what is left."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while await self.pending():
                    delay = await self.send_due()
                    await asyncio.sleep(delay)  # a chat's window, not a condition to poll
        return await self.pending()

    @staticmethod
    async def pending() -> int:
        """Notifications not yet delivered."""
        return await Notification.filter(status=NotificationStatus.PENDING).count()

    async def send_due(self) -> float:
        """One pass over the due rows, oldest first; returns seconds until the next look."""
        now = datetime.now(UTC)
        rows = (
            await Notification.filter(status=NotificationStatus.PENDING).order_by("id").limit(200)
        )
        held: set[int] = set()  # chats whose earlier message is still waiting: keep order
        delay = POLL_S
        for row in rows:
            chat = row.chat_id
            if chat in held:
                continue
            held.add(chat)  # at most one message per chat per pass
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                delay = min(delay, (row.next_attempt_at - now).total_seconds())
                continue
            turn = self._gate.try_turn(chat)
            if turn is None:  # inside a window, or a progress edit is on its way there
                delay = min(delay, self._gate.wait_s(chat) or BUSY_S)
                continue
            with turn:
                await self._deliver(row, turn)
            delay = min(delay, self._gate.wait_s(chat) or POLL_S)
        return max(delay, 0.01)

    async def _deliver(self, row: Notification, turn: Turn) -> None:
        try:
            follow_up = await self._send(row)
        except TelegramRetryAfter as exc:
            turn.retry_after(exc.retry_after)
            await self._postpone(row, exc.retry_after, f"retry after {exc.retry_after}s")
        except TelegramNetworkError as exc:  # unreachable: costs Telegram nothing to retry
            backoff = min(MAX_NETWORK_BACKOFF_S, 2.0 ** min(row.attempts, 6))
            await self._postpone(row, backoff, type(exc).__name__)
        except TelegramServerError as exc:
            backoff = min(MAX_BACKOFF_S, 2.0 ** min(row.attempts, 6))
            await self._postpone(row, backoff, type(exc).__name__)
        except TelegramUnauthorizedError:
            raise  # a wrong token: nothing will ever be delivered, stop loudly
        except (*_PERMANENT, OSError) as exc:
            log.warning("notification %d to chat %d failed for good: %s", row.id, row.chat_id, exc)
            await Notification.filter(id=row.id).update(
                status=NotificationStatus.FAILED,
                attempts=row.attempts + 1,
                last_error=str(exc)[:500],
            )
        except TelegramAPIError as exc:  # anything else Telegram says: try again later
            backoff = min(MAX_BACKOFF_S, 2.0 ** min(row.attempts, 6))
            await self._postpone(row, backoff, type(exc).__name__)
        else:
            turn.sent()
            self.delivered += 1
            async with in_transaction():
                await Notification.filter(id=row.id).update(
                    status=NotificationStatus.SENT,
                    sent_at=datetime.now(UTC),
                    attempts=row.attempts + 1,
                )
                if follow_up is not None:
                    await follow_up

    async def _postpone(self, row: Notification, seconds: float, why: str) -> None:
        log.info(
            "notification %d to chat %d postponed %.1fs: %s", row.id, row.chat_id, seconds, why
        )
        await Notification.filter(id=row.id).update(
            attempts=row.attempts + 1,
            next_attempt_at=datetime.now(UTC) + timedelta(seconds=seconds),
            last_error=why,
        )

    # -- rendering ----------------------------------------------------------------------

    async def _send(self, row: Notification) -> Awaitable[object] | None:
        """Send one row; may return a follow-up write done with marking it sent."""
        payload = row.payload
        if row.kind == "run_summary" and row.run_id is not None:
            return await self._send_summary(row, row.run_id)
        if row.kind == "screenshots":
            await self._send_screenshots(row.chat_id, payload)
            return None
        if row.kind == "question" and payload.get("question_id") is not None:
            return await self._send_question(row, int(str(payload["question_id"])))
        await self._bot.send_message(row.chat_id, row.text)
        return None

    async def _send_summary(self, row: Notification, run_id: int) -> Awaitable[object] | None:
        run = await Run.get_or_none(id=run_id)
        if run is None:  # deleted meanwhile: the stored text is all there is
            await self._bot.send_message(row.chat_id, row.text)
            return None
        t = texts(str(run.params.get("lang") or self._language))
        summary = await self._runs.summary(run_id)
        await self._bot.send_message(
            row.chat_id, summary_text(t, summary), reply_markup=summary_keyboard(t, summary)
        )
        shots = [
            {"path": item.artifact, "account": item.account}
            for item in summary.items
            if item.status == ItemStatus.FAILED and item.artifact
        ]
        if not (self._screenshots and shots):
            return None
        return enqueue(
            row.chat_id,
            "screenshots",
            payload={"shots": shots},
            run_id=run_id,
            dedupe_key=f"run:{run_id}:screenshots:{row.chat_id}",
        )

    async def _send_question(
        self, row: Notification, question_id: int
    ) -> Awaitable[object] | None:
        """The page as a photo with a ForceReply; the message id goes on the question's row."""
        asked = await AskedQuestion.get_or_none(id=question_id)
        if asked is None:  # its run was deleted meanwhile: nothing to answer
            return None
        run = await Run.get_or_none(id=asked.run_id)
        language = (run.params.get("lang") if run is not None else None) or self._language
        text = texts(str(language))(
            "question", account=asked.account, run_id=asked.run_id, prompt=asked.prompt
        )
        reply = ForceReply(input_field_placeholder="123456")
        if asked.screenshot_enc and self._secrets is not None:
            photo = await asyncio.to_thread(
                self._secrets.decrypt_bytes, asked.screenshot_enc.encode("ascii")
            )
            message = await self._bot.send_photo(
                row.chat_id,
                BufferedInputFile(photo, f"question-{asked.id}.png"),
                caption=text,
                reply_markup=reply,
            )
        else:  # closed before it was sent (no screenshot kept), or the page had none
            message = await self._bot.send_message(row.chat_id, text, reply_markup=reply)
        # Marked with the notification: a resend after a crash still has the screenshot.
        return AskedQuestion.filter(id=asked.id).update(
            message_id=message.message_id, sent_at=datetime.now(UTC), screenshot_enc=None
        )

    async def _send_screenshots(self, chat_id: int, payload: dict[str, Any]) -> None:
        shots = await asyncio.to_thread(_existing, payload.get("shots", []))
        for start in range(0, len(shots), ALBUM_SIZE):
            chunk = shots[start : start + ALBUM_SIZE]
            if len(chunk) == 1:
                shot = chunk[0]
                await self._bot.send_photo(
                    chat_id, FSInputFile(shot["path"]), caption=shot["account"]
                )
                continue
            album = [
                InputMediaPhoto(media=FSInputFile(shot["path"]), caption=shot["account"])
                for shot in chunk
            ]
            await self._bot.send_media_group(chat_id, list(album))


def _existing(shots: list[dict[str, str]]) -> list[dict[str, str]]:
    return [shot for shot in shots if Path(shot["path"]).is_file()]


__all__ = ["Outbox"]

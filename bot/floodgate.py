"""One flood gate per process: when each chat may receive its next message, and who may send.

Telegram answers 429 ``retry_after`` per chat, and a message sent inside that window is
refused again. Everything the bot sends later (the outbox's rows, the progress edits)
asks this gate for a turn first. A turn is exclusive per chat and is held from "the gate
says go" until the send has been answered, so two senders can never have requests to one
chat in flight at once: a retry_after one of them gets is recorded before the other may
look. ``try_turn`` never waits (the outbox serves other chats meanwhile); ``turn`` waits
for the chat's window and for the turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from types import TracebackType

PER_CHAT_INTERVAL_S = 1.0


class Turn:
    """The right to send to one chat now; say how it went, then leave (``with``)."""

    def __init__(self, gate: ChatGate, chat_id: int) -> None:
        self._gate = gate
        self.chat_id = chat_id

    def sent(self) -> None:
        """Something was just delivered to this chat."""
        self._gate._push(self.chat_id, self._gate.interval_s)

    def retry_after(self, seconds: float) -> None:
        """Telegram asked for silence in this chat."""
        self._gate._push(self.chat_id, seconds)

    def __enter__(self) -> Turn:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._gate._release(self.chat_id)


class ChatGate:
    """Each chat's earliest next send (rate and retry_after windows) and its one sender."""

    def __init__(self, interval_s: float = PER_CHAT_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._not_before: dict[int, float] = {}
        self._busy: set[int] = set()
        self._released: dict[int, asyncio.Event] = {}

    def wait_s(self, chat_id: int) -> float:
        """Seconds until this chat's window ends; 0 when it has none (it may still be busy)."""
        return max(0.0, self._not_before.get(chat_id, 0.0) - time.monotonic())

    def try_turn(self, chat_id: int) -> Turn | None:
        """The chat's turn if it is free and out of any window now, else None."""
        if chat_id in self._busy or self.wait_s(chat_id) > 0:
            return None
        self._busy.add(chat_id)
        return Turn(self, chat_id)

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[Turn]:
        """Wait for the chat's window to pass and for its turn; hold it for the block."""
        while (turn := self.try_turn(chat_id)) is None:
            released = self._released.setdefault(chat_id, asyncio.Event())
            window = self.wait_s(chat_id)
            # Wake when the window ends or the holder leaves, whichever is first; then
            # look again (the holder may have opened a new window).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(window if window > 0 else None):
                    await released.wait()
        with turn:
            yield turn

    def _push(self, chat_id: int, seconds: float) -> None:
        # A later end already set (a longer retry_after) is kept.
        until = time.monotonic() + seconds
        self._not_before[chat_id] = max(self._not_before.get(chat_id, 0.0), until)

    def _release(self, chat_id: int) -> None:
        self._busy.discard(chat_id)
        if (released := self._released.pop(chat_id, None)) is not None:
            released.set()

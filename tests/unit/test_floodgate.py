"""The per-chat flood gate: one sender per chat at a time, and windows that hold everyone."""

from __future__ import annotations

import asyncio
import time

from bot.floodgate import ChatGate


async def test_a_turn_is_exclusive_per_chat_and_free_elsewhere() -> None:
    gate = ChatGate(interval_s=0.0)
    turn = gate.try_turn(1)
    assert turn is not None
    with turn:
        assert gate.try_turn(1) is None  # the holder's request may still be in flight
        assert gate.try_turn(2) is not None
    assert gate.try_turn(1) is not None


async def test_a_waiter_gets_the_turn_only_after_the_holders_retry_after() -> None:
    gate = ChatGate(interval_s=0.0)
    got_turn_at: list[float] = []

    async def edit() -> None:
        async with gate.turn(1):
            got_turn_at.append(time.monotonic())

    holder = gate.try_turn(1)
    assert holder is not None
    with holder:
        waiter = asyncio.create_task(edit())
        holder.retry_after(0.3)  # Telegram's answer to the holder's send
        released = time.monotonic()
    await asyncio.wait_for(waiter, 10)
    assert got_turn_at[0] >= released + 0.3
    assert gate.try_turn(1) is not None  # the waiter left the turn free


async def test_a_sent_message_spaces_the_next_by_the_interval() -> None:
    gate = ChatGate(interval_s=0.2)
    with gate.try_turn(1) as turn:  # type: ignore[union-attr]
        turn.sent()
    assert gate.try_turn(1) is None
    assert 0.0 < gate.wait_s(1) <= 0.2

"""A task cancelled as its SQLite transaction starts leaves the database usable.

Stock Tortoise 1.1 keeps the connection's lock for ever in that case (storage/sqlite_backend.py
says how), so every later query of the process waits without end: a scheduler test hung
in its teardown that way. aiosqlite's trace callback, which runs on its thread before each
statement, holds that thread at a chosen statement so the cancel lands at a known point.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from storage.db import Database
from storage.models import Setting

CEILING_S = 60.0


class HeldStatement:
    """Holds aiosqlite's thread when it is about to run a statement that starts with a
    given text, until released; ``reached`` is set once it is held."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.reached = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._release = threading.Event()

    def __call__(self, statement: str) -> None:
        if statement.startswith(self.prefix) and not self._release.is_set():
            self._loop.call_soon_threadsafe(self.reached.set)
            self._release.wait(CEILING_S)

    def release(self) -> None:
        self._release.set()


@pytest.fixture
async def held(db: Database) -> AsyncIterator[list[HeldStatement]]:
    raw = connections.get("sqlite")._connection
    holds: list[HeldStatement] = []

    def trace(statement: str) -> None:
        for hold in holds:
            hold(statement)

    await raw.set_trace_callback(trace)
    yield holds
    for hold in holds:
        hold.release()
    await raw.set_trace_callback(None)


async def write_in_transaction(key: str) -> None:
    async with in_transaction():
        await Setting.create(key=key, value="written")


@pytest.mark.parametrize("where", ["while BEGIN runs", "while waiting for the thread"])
async def test_a_transaction_cancelled_as_it_starts_leaves_the_database_usable(
    held: list[HeldStatement], where: str
) -> None:
    client = connections.get("sqlite")
    raw = client._connection
    if where == "while BEGIN runs":
        hold = HeldStatement("BEGIN")
        held.append(hold)
        writer = asyncio.create_task(write_in_transaction("cancelled"))
        async with asyncio.timeout(CEILING_S):
            await hold.reached.wait()
    else:  # the thread is busy with a statement outside Tortoise, which takes no lock
        hold = HeldStatement("SELECT 'busy'")
        held.append(hold)
        busy = asyncio.create_task(raw.execute_fetchall("SELECT 'busy'"))
        async with asyncio.timeout(CEILING_S):
            await hold.reached.wait()
        writer = asyncio.create_task(write_in_transaction("cancelled"))
        await asyncio.sleep(0)  # one step: it takes the lock and queues BEGIN's first call
        assert client._lock.locked()
    writer.cancel()
    hold.release()
    with pytest.raises(asyncio.CancelledError):
        await writer
    if where != "while BEGIN runs":
        await busy
    async with asyncio.timeout(CEILING_S):  # stock Tortoise waits here for ever
        await write_in_transaction("after")
        keys = await Setting.filter(key__in=["cancelled", "after"]).values_list("key", flat=True)
    assert set(keys) == {"after"}
    assert not raw.in_transaction, "a BEGIN was left open on the connection"

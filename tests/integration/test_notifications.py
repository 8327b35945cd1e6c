"""The outbox's one writer: a dedupe key is owed once, even under concurrent writers."""

from __future__ import annotations

import asyncio

from tortoise.transactions import in_transaction

from automation.notifications import DEDUPE_KEY_LENGTH, enqueue
from storage.db import Database
from storage.models import Notification, Setting


async def test_concurrent_writers_of_one_key_owe_one_message(db: Database) -> None:
    written = await asyncio.gather(
        *(enqueue(7, "note", f"copy {k}", dedupe_key="note:1:7") for k in range(8))
    )
    assert sorted(written) == [False] * 7 + [True]
    assert await Notification.filter(dedupe_key="note:1:7").count() == 1


async def test_a_repeated_key_inside_a_transaction_leaves_the_transaction_whole(
    db: Database,
) -> None:
    assert await enqueue(7, "note", "first", dedupe_key="note:2:7")
    async with in_transaction():
        await Setting.create(key="written-with-it", value="1")
        assert not await enqueue(7, "note", "again", dedupe_key="note:2:7")
        assert await enqueue(8, "note", "other chat", dedupe_key="note:2:8")
    assert await Setting.exists(key="written-with-it")
    assert await Notification.filter(dedupe_key__startswith="note:2:").count() == 2


async def test_rows_without_a_key_are_always_written_and_long_keys_are_cut(
    db: Database,
) -> None:
    assert await enqueue(7, "question", "code?")
    assert await enqueue(7, "question", "code?")
    long_key = "schedule:1:failed:" + "x" * 200
    assert await enqueue(7, "note", "a", dedupe_key=long_key)
    assert not await enqueue(7, "note", "b", dedupe_key=long_key + "-differs-past-the-cut")
    assert await Notification.filter(kind="question").count() == 2
    [row] = await Notification.filter(kind="note")
    assert row.dedupe_key == long_key[:DEDUPE_KEY_LENGTH] and row.text == "a"

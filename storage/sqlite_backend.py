"""Tortoise's SQLite backend, with transactions that survive being cancelled as they start.

Tortoise 1.1's SQLite client has one connection and one ``asyncio.Lock`` for it: every
query and every ``in_transaction()`` takes the lock. ``SqliteTransactionContext.__aenter__``
acquires the lock, points the task's current-connection context variable at the
transaction, and only then awaits ``BEGIN`` on aiosqlite's thread. A task cancelled during
that await (a run cancelled from the chat, a runner or scheduler stopping) leaves
``__aenter__`` with ``CancelledError`` and ``__aexit__`` never runs: the lock is never
released, so every later query of the process waits for ever, without an error or a log
line. The ``BEGIN`` that was already queued still runs, too, and leaves the connection
inside a transaction nobody ends. The suite caught it as a scheduler test hanging in its
teardown (twice in CI; 2 runs in 9 with three spinning processes beside it).

This backend undoes a failed entry: it resets the context variable, rolls back (a no-op
when ``BEGIN`` never ran; aiosqlite runs calls in order, so the rollback comes after it)
and releases the lock. (Stock ``execute_many`` outside a transaction has a hole of the
same kind; fleetbot bulk-inserts only inside transactions, so it is left alone.) The
module's name has to contain "sqlite" because Tortoise's migration executor
picks the schema editor by the client's module name.
"""

from __future__ import annotations

import contextlib
import sqlite3

from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections


async def _roll_back(client: SqliteClient) -> None:
    """End whatever transaction the connection is in (none: nothing happens).

    aiosqlite queues the call before the first await, so it runs after anything queued
    earlier (a BEGIN still in flight) and before anything queued later, even when this
    task is cancelled again while it waits.
    """
    if client._connection is not None:
        with contextlib.suppress(sqlite3.Error, ValueError):  # ValueError: closed meanwhile
            await client._connection.rollback()


class CleanSqliteTransactionContext(SqliteTransactionContext):
    """A SQLite transaction that gives the connection back when it fails to start."""

    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()  # asyncio.Lock: a cancelled acquire holds nothing
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            await self.connection.begin()
        except BaseException:
            token = getattr(self, "token", None)
            if token is not None:
                get_connections().reset(token)
            try:
                await _roll_back(self.connection)
            finally:
                self._trxlock.release()
            raise
        return self.connection  # type: ignore[no-any-return]


class CleanSqliteClient(SqliteClient):
    """Tortoise's SQLite client whose transactions are ``CleanSqliteTransactionContext``."""

    def _in_transaction(self) -> TransactionContext:
        return CleanSqliteTransactionContext(SqliteTransactionWrapper(self), self._lock)


client_class = CleanSqliteClient

"""Tortoise's asyncpg backend, with transactions that clean up after a failed BEGIN.

Tortoise 1.1's pooled ``in_transaction()`` (``TransactionContextPooled.__aenter__``) takes
a connection from the pool, points the task's current-connection context variable at the
new ``TransactionWrapper``, and only then sends ``BEGIN``. When ``BEGIN`` fails (a server
that hangs: asyncpg's ``command_timeout`` expires; a dropped socket) ``__aenter__`` raises,
so ``__aexit__`` never runs: the connection is never given back and the context variable
keeps pointing at the dead transaction. Every later ``in_transaction()`` in that task then
nests a SAVEPOINT inside it: on a connection the pool has since reclaimed that fails for
ever ("connection has been released back to the pool"); on one that came back it
"succeeds" inside a transaction nobody commits, so the write is silently lost.

``__aexit__`` has a smaller hole of the same kind: when giving the connection back raises,
the context variable is not reset either.

This backend undoes both: on a failed entry it resets the context variable and terminates
the connection (its state is unknown; the pool opens a fresh one), and on exit it resets
the context variable whatever the release did. Select it with ``"engine":
"storage.asyncpg_backend"``; the module's name has to contain "asyncpg" because Tortoise's
migration executor picks the schema editor by the client's module name.
"""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    TransactionalDBClient,
    TransactionContext,
    TransactionContextPooled,
)
from tortoise.connection import get_connections


class CleanTransactionContext(TransactionContextPooled):
    """A pooled transaction that leaves no trace in the task when it fails to start."""

    async def __aenter__(self) -> TransactionalDBClient:
        try:
            return await super().__aenter__()
        except BaseException:
            token = getattr(self, "token", None)
            if token is not None:
                get_connections().reset(token)
            connection = self.client._connection
            if isinstance(connection, asyncpg.pool.PoolConnectionProxy):
                with contextlib.suppress(asyncpg.InterfaceError):  # already given back
                    connection.terminate()  # the pool takes the slot back and reconnects
            raise

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        try:
            await super().__aexit__(exc_type, exc_val, exc_tb)
        finally:
            token = getattr(self, "token", None)
            if token is not None and not token._used:
                get_connections().reset(token)


class CleanAsyncpgClient(AsyncpgDBClient):
    """The asyncpg client whose transactions are ``CleanTransactionContext``."""

    def _in_transaction(self) -> TransactionContext:
        return CleanTransactionContext(TransactionWrapper(self), self._pool_init_lock)


client_class = CleanAsyncpgClient

"""One ``fleetbot serve`` per database: a lock a second one cannot take.

Only ``serve`` runs the scheduler and polls Telegram, and two of either would fire every
schedule twice and fight over the bot's updates, so the lock is taken by ``serve`` alone;
any number of runner processes share the database without it.

SQLite: ``flock`` on ``scheduler.lock`` in the database file's directory (the data dir by
default), which names its holder. PostgreSQL: a session-level advisory lock on a dedicated
connection, whose ``application_name`` names the holder. Both are released by the operating
system or the server when the process dies, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from storage.config import StorageConfig
from storage.errors import StorageError

LOCK_FILE = "scheduler.lock"
ADVISORY_KEY = 0x466C656574  # "Fleet"
_PG_SCHEMES = ("postgres", "postgresql", "asyncpg", "psycopg")


def lock_path(config: StorageConfig) -> Path:
    """The lock file of a file database: ``scheduler.lock`` next to the SQLite file."""
    url = config.db_url or ""
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://").split("?", 1)[0]
        if path and path != ":memory:":
            return Path(path).parent / LOCK_FILE
    return config.data_dir / LOCK_FILE


class ServeLocked(StorageError):
    """Another ``fleetbot serve`` already runs against this database."""


class ServeLock:
    """Held for the life of ``serve``; ``async with`` raises ServeLocked if taken."""

    def __init__(self, config: StorageConfig) -> None:
        self._config = config
        self._fd: int | None = None
        self._pg: Any = None

    async def __aenter__(self) -> Self:
        if self._fd is not None or self._pg is not None:
            raise RuntimeError("serve lock already held")
        url = self._config.db_url or ""
        scheme = url.split("://", 1)[0].lower()
        if "://" in url and scheme in _PG_SCHEMES:
            await self._lock_postgres("postgresql" + url[len(scheme) :])
        else:
            await asyncio.to_thread(self._lock_file, lock_path(self._config))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
        if self._pg is not None:
            with contextlib.suppress(Exception):
                await self._pg.close()
            self._pg = None

    def _lock_file(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ServeLocked(
                f"another fleetbot scheduler uses this database ({holder}); stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder().encode(), 0)
        self._fd = fd

    async def _lock_postgres(self, url: str) -> None:
        import asyncpg  # noqa: PLC0415 - the optional PostgreSQL driver

        conn = await asyncpg.connect(url)
        got = await conn.fetchval("SELECT pg_try_advisory_lock($1)", ADVISORY_KEY)
        if not got:
            # A bigint advisory key shows in pg_locks as classid (high half) and objid.
            holder = await conn.fetchval(
                "SELECT a.application_name || ' (server pid ' || l.pid || ' from '"
                " || coalesce(host(a.client_addr), 'local socket') || ')'"
                " FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                " WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2"
                " AND l.granted",
                ADVISORY_KEY >> 32,
                ADVISORY_KEY & 0xFFFFFFFF,
            )
            await conn.close()
            raise ServeLocked(
                f"another fleetbot scheduler uses this database ({holder or 'unknown'}); "
                "stop it first"
            )
        await conn.execute(
            "SELECT set_config('application_name', $1, false)", f"fleetbot {_holder()}"[:63]
        )
        self._pg = conn


def _holder() -> str:
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"pid {os.getpid()} on {socket.gethostname()} since {started}"

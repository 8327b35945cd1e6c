"""One ``fleetbot serve`` per database: a lock a second one cannot take.

Only ``serve`` runs the scheduler and polls Telegram, and two of either would fire every
schedule twice and fight over the bot's updates, so the lock is taken by ``serve`` alone;
any number of runner processes share the database without it.

SQLite: ``flock`` on ``scheduler.lock`` in the database file's directory (the data dir by
default), which names its holder. PostgreSQL: a session-level advisory lock on a dedicated
connection, whose ``application_name`` names the holder. Both are released by the operating
system or the server when the process dies, so a crash never leaves a stale lock.

The advisory lock lives as long as its connection, which a database outage can end while
``serve`` goes on. ``keep()`` (a task of ``serve``) checks the connection every
``LOCK_CHECK_S`` and, once it is gone, takes the lock again as soon as the server answers:
a session of its own that the server still keeps (a connection that hung rather than
closed) is ended first. If another ``serve`` took the lock meanwhile, ``keep()`` raises
``ServeLocked`` and this one stops, rather than two schedulers and two pollers running.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import secrets
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from storage.config import StorageConfig
from storage.errors import StorageError
from storage.health import STORAGE_ERRORS, describe

log = logging.getLogger(__name__)

LOCK_FILE = "scheduler.lock"
ADVISORY_KEY = 0x466C656574  # "Fleet"
_PG_SCHEMES = ("postgres", "postgresql", "asyncpg", "psycopg")
LOCK_CHECK_S = 10.0
RETAKE_FIRST_S = 1.0
RETAKE_MAX_S = 30.0
# The sessions holding the lock: a bigint advisory key shows in pg_locks as classid (its
# high half, $1) and objid ($2).
_KEY_HALVES = (ADVISORY_KEY >> 32, ADVISORY_KEY & 0xFFFFFFFF)
_HOLDERS = (
    "FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
    " WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.granted"
)


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

    def __init__(self, config: StorageConfig, *, check_every_s: float = LOCK_CHECK_S) -> None:
        self._config = config
        self._check_every_s = check_every_s
        self._fd: int | None = None
        self._pg: Any = None
        self._pg_url = ""
        # The application_name of this lock's sessions, which names the holder to a refused
        # serve (63 bytes at most); the tag tells two locks of one process apart.
        self.session_name = f"fleetbot {_holder()}"[:55] + f" #{secrets.token_hex(3)}"

    async def __aenter__(self) -> Self:
        if self._fd is not None or self._pg is not None:
            raise RuntimeError("serve lock already held")
        url = self._config.db_url or ""
        scheme = url.split("://", 1)[0].lower()
        if "://" in url and scheme in _PG_SCHEMES:
            self._pg_url = "postgresql" + url[len(scheme) :]
            await self._lock_postgres()
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
            try:
                await self._pg.close(timeout=self._config.query_timeout_s)
            except Exception:  # a hung or lost connection: drop it; the server lets go
                self._pg.terminate()
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

    async def keep(self) -> None:
        """Hold the lock until cancelled; raises ServeLocked if another serve took it."""
        if self._pg is None:  # a flock lasts as long as this process's descriptor
            await asyncio.Event().wait()
        while True:
            await asyncio.sleep(self._check_every_s)  # a period: a lost socket says nothing itself
            try:
                await self._pg.fetchval("SELECT 1", timeout=self._config.query_timeout_s)
                continue
            except STORAGE_ERRORS as exc:
                log.warning(
                    "serve lock: its database connection is lost (%s); taking the lock again "
                    "once PostgreSQL answers",
                    describe(exc),
                )
            self._pg.terminate()
            self._pg = None
            await self._retake()

    async def _retake(self) -> None:
        delay = RETAKE_FIRST_S
        while True:
            try:
                await self._lock_postgres()
            except ServeLocked:
                raise
            except STORAGE_ERRORS as exc:
                log.debug("serve lock: not taken yet: %s", describe(exc))
                await asyncio.sleep(delay)  # the server has to come back; nothing to wait on
                delay = min(RETAKE_MAX_S, delay * 2)
                continue
            log.warning("serve lock: taken again")
            return

    async def _lock_postgres(self) -> None:
        import asyncpg  # noqa: PLC0415 - the optional PostgreSQL driver

        timeout = self._config.query_timeout_s
        conn = await asyncpg.connect(
            self._pg_url,
            timeout=timeout,
            command_timeout=timeout,
            server_settings={"application_name": self.session_name},
        )
        try:
            got = await self._try_lock(conn)
            holder = None if got else await _lock_holder(conn)
        except BaseException:
            conn.terminate()
            raise
        if not got:
            await conn.close(timeout=timeout)
            raise ServeLocked(
                f"another fleetbot scheduler uses this database ({holder or 'unknown'}); "
                "stop it first"
            )
        self._pg = conn

    async def _try_lock(self, conn: Any) -> bool:
        """Take the advisory lock, ending first a session of this lock's that holds it
        (one the server kept after its connection hung); False if someone else has it."""
        if await conn.fetchval("SELECT pg_try_advisory_lock($1)", ADVISORY_KEY):
            return True
        ended = await conn.fetchval(
            f"SELECT bool_or(pg_terminate_backend(l.pid)) {_HOLDERS}"
            " AND a.application_name = $3 AND l.pid <> pg_backend_pid()",
            *_KEY_HALVES,
            self.session_name,
        )
        if ended:
            log.warning("serve lock: ended this lock's old session that still held it")
            # pg_terminate_backend only signals: wait (within the query timeout) for the
            # backend to exit and let go.
            await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_KEY)
            return True
        return False


async def _lock_holder(conn: Any) -> str | None:
    holder: str | None = await conn.fetchval(
        "SELECT a.application_name || ' (server pid ' || l.pid || ' from '"
        f" || coalesce(host(a.client_addr), 'local socket') || ')' {_HOLDERS}",
        *_KEY_HALVES,
    )
    return holder


def _holder() -> str:
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"pid {os.getpid()} on {socket.gethostname()} since {started}"

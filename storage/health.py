"""Database faults (disk full, read-only file, server gone) reported once and survived.

A process that cannot write keeps what it has not stored yet and retries: the database is
the only record of what happened, so an outcome is never dropped because one write failed,
and nothing already committed is touched. ``StorageHealth`` turns a stream of failing
writes into two log lines, one when writes start failing and one when they work again,
and tells listeners (the bot warns its admins) about both.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tortoise.exceptions import BaseORMException

log = logging.getLogger(__name__)


def _driver_errors() -> tuple[type[BaseException], ...]:
    """Driver exceptions Tortoise lets through unwrapped (a failing COMMIT, for one)."""
    errors: list[type[BaseException]] = [sqlite3.Error]
    try:
        import asyncpg  # noqa: PLC0415 - the optional PostgreSQL driver

        errors += [asyncpg.PostgresError, asyncpg.InterfaceError]
    except ImportError:
        pass
    return tuple(errors)


#: What a failing database raises: Tortoise's errors, the drivers' own, a dropped socket.
STORAGE_ERRORS: tuple[type[BaseException], ...] = (BaseORMException, OSError, *_driver_errors())
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0

T = TypeVar("T")
Listener = Callable[[str | None], None]


def describe(exc: BaseException) -> str:
    """One line naming a storage error, without SQL parameters or a traceback."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:200]}" if lines else type(exc).__name__


class StorageHealth:
    """Whether this process's database writes work; says so once per change."""

    def __init__(self) -> None:
        self.problem: str | None = None
        self._since = 0.0
        self._listeners: list[Listener] = []

    @property
    def failing(self) -> bool:
        """True from the first failed write until one succeeds again."""
        return self.problem is not None

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(problem)`` when writes start failing, ``listener(None)`` after."""
        self._listeners.append(listener)

    def failed(self, doing: str, exc: BaseException) -> None:
        """Record a failed database operation; logs only the first of a run of failures."""
        if self.problem is not None:
            log.debug("storage still failing while %s: %s", doing, describe(exc))
            return
        self.problem = f"{describe(exc)} (while {doing})"
        self._since = time.monotonic()
        log.error(
            "storage error: %s. Results already committed are safe; work in flight is held "
            "and retried until the database accepts writes again.",
            self.problem,
        )
        self._tell(self.problem)

    def ok(self) -> None:
        """Record a database operation that worked; logs the recovery once."""
        if self.problem is None:
            return
        log.warning("storage works again after %.1fs", time.monotonic() - self._since)
        self.problem = None
        self._tell(None)

    def _tell(self, problem: str | None) -> None:
        for listener in self._listeners:
            try:
                listener(problem)
            except Exception:  # a listener must not turn a storage fault into a crash
                log.exception("storage health listener failed")

    async def until_stored(self, doing: str, write: Callable[[], Awaitable[T]]) -> T:
        """Run ``write`` until it succeeds, backing off from 0.2 s to 5 s between tries."""
        delay = RETRY_FIRST_S
        while True:
            try:
                result = await write()
            except STORAGE_ERRORS as exc:
                self.failed(doing, exc)
                await asyncio.sleep(delay)  # the fault has to pass; nothing to wait on
                delay = min(RETRY_MAX_S, delay * 2)
                continue
            self.ok()
            return result

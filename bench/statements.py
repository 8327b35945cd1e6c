"""Counting the SQL statements this process sends through Tortoise, on SQLite or PostgreSQL.

Every ``execute_*`` method of Tortoise 1.x's SQLite and asyncpg clients, and of their
transaction wrappers (which share the client's logger), logs its statement on the
``tortoise.db_client`` logger at DEBUG just before sending it: ``"%s: %s"`` with the query
and its values, or the bare script for ``execute_script``. A handler that counts those
records counts the statements without patching Tortoise, whichever client runs them. Not
counted: the BEGIN / COMMIT / ROLLBACK of ``in_transaction()`` blocks, which Tortoise sends
without logging them, and the connection open/close lines, which are not statements.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from tortoise.log import db_client_logger

_STATEMENT = "%s: %s"  # the format of every execute_* log line in tortoise/backends/


class StatementCounter(logging.Handler):
    """A logging handler that counts the statements logged on ``tortoise.db_client``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Count a statement; ignore the client's other lines (connection opened, closed)."""
        if record.msg == _STATEMENT or not record.args:
            self.count += 1


@contextmanager
def counting_statements() -> Iterator[StatementCounter]:
    """Count the statements sent while the block runs; the logger is restored after."""
    counter = StatementCounter()
    level, propagate = db_client_logger.level, db_client_logger.propagate
    db_client_logger.addHandler(counter)
    db_client_logger.setLevel(logging.DEBUG)
    # Every statement becomes a DEBUG record now: keep them away from the root handlers,
    # whose formatting would cost far more than counting and land in someone's log.
    db_client_logger.propagate = False
    try:
        yield counter
    finally:
        db_client_logger.removeHandler(counter)
        db_client_logger.setLevel(level)
        db_client_logger.propagate = propagate

"""Logging to stderr, with known secrets scrubbed from every record."""

from __future__ import annotations

import logging
import re
import sys

_TOKEN = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+):[^@\s]+@")
_QUIET = ("aiosqlite", "tortoise", "asyncio", "apscheduler.executors", "aiohttp.access")


class RedactingFilter(logging.Filter):
    """Replace anything shaped like a bot token or a URL password with ***."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message in place; never drops a record."""
        message = record.getMessage()
        clean = _URL_PASSWORD.sub(r"\1:***@", _TOKEN.sub("***", message))
        if clean != message:
            record.msg, record.args = clean, None
        return True


def setup_logging(level: str) -> None:
    """Configure the root logger once for this process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))

"""Logging to stderr, with known secrets scrubbed from every record."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

# A bot token, also inside a Bot API URL (".../bot123:ABC.../getMe"), where no \b precedes it.
_TOKEN = re.compile(r"(?<![0-9])\d{6,12}:[A-Za-z0-9_-]{30,}")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+):[^@\s]+@")
MIN_SECRET_CHARS = 8  # shorter values would scrub ordinary words out of the log
_QUIET = ("aiosqlite", "tortoise", "asyncio", "apscheduler.executors", "aiohttp.access")


def redact(text: str) -> str:
    """Replace anything shaped like a bot token or a URL password with ***."""
    return _URL_PASSWORD.sub(r"\1:***@", _TOKEN.sub("***", text))


class RedactingFormatter(logging.Formatter):
    """Scrubs the whole formatted record: the message and any traceback under it.

    Exception texts often carry a request URL, and a URL to the Bot API holds the token,
    so scrubbing only the message (as a filter would) is not enough. Besides the shapes
    above, the exact secrets this process was configured with are replaced too.
    """

    def __init__(self, fmt: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self._secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len)[::-1]

    def format(self, record: logging.LogRecord) -> str:
        """The record as text, secrets replaced."""
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return redact(text)


class OneLineDriverNoise(logging.Filter):
    """asyncpg's pool logs a full traceback each time it fails to reconnect while the
    server is away; fleetbot's own ``storage error`` line already says so once. Keep the
    driver's line at DEBUG, without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Demote the record to a one-line DEBUG message."""
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Configure the root logger once for this process; ``secrets`` never get printed."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    pool = logging.getLogger("asyncpg.pool")
    pool.filters[:] = [OneLineDriverNoise()]

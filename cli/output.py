"""Printing command results: one JSON document for --json, plain text otherwise."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from automation.errors import FleetbotError
from cli.printable import printable


def print_json(doc: Any) -> None:
    """Print one JSON document on stdout."""
    print(json.dumps(doc, indent=2, ensure_ascii=False, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned table; empty cells print as '-'."""
    cells = [
        [("-" if c is None or c == "" else printable(str(c), newlines=False)) for c in row]
        for row in rows
    ]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line.rstrip())
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def say(text: str) -> None:
    """A line of normal output on stdout (control characters made visible)."""
    print(printable(text))


def warn(message: str) -> None:
    """A note for the operator on stderr."""
    print(f"fleetbot: {printable(message)}", file=sys.stderr)


def when(value: datetime | None) -> str:
    """A timestamp in the operator's local time, to the minute."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "-"


async def read_file(path: Path, limit: int, what: str) -> bytes:
    """Read a small input file off the event loop, refusing one over limit bytes unread."""

    def _read() -> bytes:
        try:
            size = path.stat().st_size
            if size > limit:
                raise FleetbotError(f"{what} {path} is larger than {limit // 2**20} MB")
            with path.open("rb") as handle:
                return handle.read(limit + 1)
        except OSError as exc:
            raise FleetbotError(f"cannot read {what} {path}: {exc.strerror}") from None

    data = await asyncio.to_thread(_read)
    if len(data) > limit:
        raise FleetbotError(f"{what} {path} is larger than {limit // 2**20} MB")
    return data

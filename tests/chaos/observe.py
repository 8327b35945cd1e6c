"""Watching a fleetbot process from outside: its database, its processes, its figures.

The chaos tests read the SQLite file directly (read-only, in a thread) rather than through
``fleetbot runs show``: a CLI process per check would cost a second of CPU each time on a
two-core machine that is also running the fleet under test.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

FINAL = frozenset({"succeeded", "failed", "cancelled", "skipped"})


def _query(db_file: Path, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=10)
    try:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()


async def query(data_dir: Path, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows of a read-only query on fleetbot's SQLite database."""
    return await asyncio.to_thread(_query, data_dir / "fleetbot.sqlite3", sql, params)


async def items(data_dir: Path, run_id: int) -> dict[int, dict[str, Any]]:
    """A run's items by id, with the columns an outcome is made of."""
    rows = await query(
        data_dir,
        "SELECT id, account_id, status, attempts, result, error_class, error_message,"
        " finished_at FROM run_item WHERE run_id = ? ORDER BY id",
        run_id,
    )
    return {row["id"]: row for row in rows}


async def settled(data_dir: Path, run_id: int) -> int:
    """How many of a run's items have a final outcome."""
    return sum(1 for row in (await items(data_dir, run_id)).values() if row["status"] in FINAL)


def report(scenario: str, **figures: Any) -> None:
    """Print a scenario's measured figures (``pytest -s`` shows them; RELIABILITY.md has them).

    With ``RELIABILITY_LOG=path`` set they are also appended to that file as JSON lines.
    """
    line = json.dumps({"scenario": scenario, **figures}, sort_keys=True)
    print(f"\nRELIABILITY {line}")
    if out := os.environ.get("RELIABILITY_LOG"):
        with Path(out).open("a", encoding="utf-8") as log:
            log.write(line + "\n")

"""What the soak reads off a running ``fleetbot serve``: its process tree and its database.

Readings are blocking (``/proc`` and a read-only SQLite connection): callers run them in a
worker thread so the event loop that hosts the fake Bot API and the demo site never waits.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import psutil

from automation.chromium import is_browser_process

_FINAL = "('succeeded', 'failed', 'skipped', 'cancelled')"


def _is_browser(proc: psutil.Process) -> bool:
    """The browser process itself, not a renderer or helper it forked."""
    return is_browser_process(proc.name()) and not any(
        arg.startswith("--type=") for arg in proc.cmdline()
    )


@dataclass(frozen=True)
class Snapshot:
    """One reading of a process tree."""

    mb: float
    resident_mb: float
    unique_mb: float
    root_mb: float
    browser_pid: int | None
    renderers: int


def _memory(proc: psutil.Process) -> tuple[int, int]:
    """(PSS, USS) of one process; RSS for both where the kernel will not say."""
    try:
        info = proc.memory_full_info()
        return int(info.pss), int(info.uss)
    except (psutil.AccessDenied, AttributeError):
        rss = int(proc.memory_info().rss)
        return rss, rss


def tree_snapshot(pid: int) -> Snapshot:
    """PSS (else RSS) of pid and its descendants and of pid alone; browser; renderers."""
    root = psutil.Process(pid)
    root_pss, unique = _memory(root)
    total = in_renderers = 0
    browser: int | None = None
    renderers = 0
    for proc in root.children(recursive=True):
        try:
            pss, uss = _memory(proc)
            total += pss
            if is_browser_process(proc.name()) and "--type=renderer" in proc.cmdline():
                renderers += 1
                in_renderers += pss
                continue
            unique += uss
            if browser is None and _is_browser(proc):
                browser = proc.pid
        except psutil.NoSuchProcess:
            continue
    tree_mb = (root_pss + total) / 2**20
    resident_mb = tree_mb - in_renderers / 2**20
    return Snapshot(
        round(tree_mb, 1),
        round(resident_mb, 1),
        round(unique / 2**20, 1),
        round(root_pss / 2**20, 1),
        browser,
        renderers,
    )


def browser_processes(pid: int) -> list[int]:
    """Chromium browser (not helper) processes under pid now."""
    found = []
    for proc in psutil.Process(pid).children(recursive=True):
        try:
            if _is_browser(proc):
                found.append(proc.pid)
        except psutil.NoSuchProcess:
            continue
    return found


def db_counts(db: Path) -> tuple[int, int, int, int]:
    """(runs, unfinished runs, finished items, failed items), read-only."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        runs, open_runs = conn.execute(
            "SELECT count(*), count(*) - count(finished_at) FROM run"
        ).fetchone()
        done, failed = conn.execute(
            f"SELECT count(*), coalesce(sum(status = 'failed'), 0) FROM run_item "
            f"WHERE status IN {_FINAL}"
        ).fetchone()
    return int(runs), int(open_runs), int(done), int(failed)

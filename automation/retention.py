"""How long screenshots, traces and question screenshots are kept, and their removal.

Failure screenshots and traces (``<data_dir>/artifacts``) and the questions asked in the
chat (``AskedQuestion`` rows, which hold the page's screenshot until it is sent;
``<data_dir>/questions`` holds files from older versions) can show an account's pages, so
they are kept only ``storage.artifact_retention_days`` and leave with their account.
``prune`` clears the paths the database holds for them before removing the files, so
nothing points at a file that is gone; a path outside those two folders (a database
edited by someone else) is never deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self

from tortoise.expressions import Q

from storage.closing import Closing
from storage.models import AskedQuestion, RunItem

log = logging.getLogger(__name__)

ARTIFACTS = "artifacts"
QUESTIONS = "questions"
DAY_S = 86_400.0


def question_screenshot(questions_dir: Path, item_id: int) -> Path:
    """Where versions before the ``question`` table kept the page shown with a question."""
    return questions_dir / f"item-{item_id}.png"


@dataclass(frozen=True)
class Pruned:
    """What one prune removed."""

    files: int
    items_cleared: int


async def prune(data_dir: Path, retention_days: int, *, now: datetime | None = None) -> Pruned:
    """Remove artifacts older than retention_days; 0 keeps everything."""
    if retention_days <= 0:
        return Pruned(0, 0)
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    old = RunItem.filter(finished_at__lt=cutoff).filter(
        Q(screenshot_path__not_isnull=True) | Q(trace_path__not_isnull=True)
    )
    rows = await old.values_list("screenshot_path", "trace_path")
    cleared = await old.update(screenshot_path=None, trace_path=None)
    referenced = [Path(p) for row in rows for p in row if p]
    await AskedQuestion.filter(created_at__lt=cutoff).delete()
    removed = await asyncio.to_thread(_remove_old, data_dir, referenced, cutoff.timestamp())
    if removed or cleared:
        log.info(
            "pruned %d artifact file(s) older than %d days (%d run items)",
            removed,
            retention_days,
            cleared,
        )
    return Pruned(removed, cleared)


async def account_artifacts(data_dir: Path, account_id: int) -> list[Path]:
    """Every artifact file of an account's run items (to remove with the account)."""
    rows = await RunItem.filter(account_id=account_id).values_list(
        "id", "screenshot_path", "trace_path"
    )
    paths = [Path(p) for _, *stored in rows for p in stored if p]
    paths += [question_screenshot(data_dir / QUESTIONS, int(item_id)) for item_id, *_ in rows]
    return paths


async def remove(data_dir: Path, paths: Iterable[Path]) -> int:
    """Delete these artifact files (only ones inside the artifact folders); returns how many."""
    return await asyncio.to_thread(_remove, data_dir, list(paths))


class ArtifactPruner(Closing):
    """Prunes old artifacts when ``serve`` starts and once a day while it runs."""

    def __init__(self, data_dir: Path, retention_days: int, every_s: float = DAY_S) -> None:
        self._data_dir = data_dir
        self._days = retention_days
        self._every_s = every_s
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        if self._task is not None:
            raise RuntimeError("artifact pruner already started")
        self._task = asyncio.create_task(self._loop(), name="artifact-pruner")
        return self

    async def close(self) -> None:
        """Stop pruning; safe to call twice."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            try:
                await prune(self._data_dir, self._days)
            except Exception:  # a locked database or a full disk: try again tomorrow
                log.exception("pruning old artifacts failed")
            await asyncio.sleep(self._every_s)


def _inside(data_dir: Path, path: Path) -> bool:
    """Whether path is a file fleetbot keeps artifacts in (never anything else)."""
    resolved = path.resolve()
    return any(
        resolved.is_relative_to((data_dir / folder).resolve()) for folder in (ARTIFACTS, QUESTIONS)
    )


def _remove(data_dir: Path, paths: list[Path]) -> int:
    removed = 0
    for path in paths:
        if _inside(data_dir, path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed


def _remove_old(data_dir: Path, referenced: list[Path], cutoff: float) -> int:
    removed = _remove(data_dir, referenced)
    for folder in (data_dir / ARTIFACTS, data_dir / QUESTIONS):
        for root, _dirs, files in os.walk(folder, topdown=False):
            here = Path(root)
            for name in files:
                path = here / name
                with contextlib.suppress(FileNotFoundError):
                    if path.lstat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
            if here != folder and not any(here.iterdir()):
                with contextlib.suppress(OSError):  # a file appeared meanwhile
                    here.rmdir()
    return removed

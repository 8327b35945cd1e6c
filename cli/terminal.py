"""The terminal's Reporter and Operator: live progress with rich, or one line per outcome.

Progress always goes to stderr so ``--json`` keeps stdout to one JSON document.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from automation.reporting import ItemEvent, Question
from automation.summary import RunProgress, RunSummary
from cli.printable import markup_safe, printable
from storage.models import ItemStatus


class TerminalReporter:
    """Shows each run's progress: a live bar on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self._stream = stream or sys.stderr
        self._live = self._stream.isatty() if live is None else live
        self._progress: Progress | None = None
        self._tasks: dict[int, TaskID] = {}

    def __enter__(self) -> TerminalReporter:
        if self._live:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=Console(file=self._stream),
                transient=False,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    async def item_event(self, event: ItemEvent, progress: RunProgress) -> None:
        """Update the bar, or print one line for an outcome."""
        if self._progress is not None:
            self._update_bar(event, progress)
            return
        if event.status == "running":
            return
        line = f"run #{event.run_id} [{progress.settled}/{progress.total}] {event.account}"
        if event.video:
            line += f" ({event.video})"
        line += f": {event.status} (attempt {event.attempt})"
        if event.error:
            line += f" - {event.error}"
        if event.result and event.result.get("post_url"):
            line += f" {event.result['post_url']}"
        print(printable(line, newlines=False), file=self._stream, flush=True)

    def _update_bar(self, event: ItemEvent, progress: RunProgress) -> None:
        assert self._progress is not None
        counts = progress.counts
        detail = (
            f"ok {counts[ItemStatus.SUCCEEDED]}  failed {counts[ItemStatus.FAILED]}  "
            f"running {counts[ItemStatus.RUNNING]}"
        )
        task = self._tasks.get(event.run_id)
        if task is None:
            task = self._progress.add_task(
                f"run #{event.run_id} {progress.kind}", total=progress.total, detail=detail
            )
            self._tasks[event.run_id] = task
        self._progress.update(task, completed=progress.settled, detail=detail)
        if event.status == "failed":
            self._progress.console.print(markup_safe(f"  {event.account}: failed - {event.error}"))

    async def run_finished(self, summary: RunSummary) -> None:
        """Complete the bar; the command prints the summary itself."""
        task = self._tasks.get(summary.run_id)
        if self._progress is not None and task is not None:
            self._progress.update(task, completed=summary.settled)


class TerminalOperator:
    """Asks for verification codes on a terminal; without one, nobody answers."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._lock = asyncio.Lock()

    async def ask(self, question: Question) -> str | None:
        """Prompt on the terminal when stdin is one, else return None at once."""
        if not sys.stdin.isatty():
            return None
        async with self._lock:  # one prompt at a time
            prompt = f"\n[{question.account}] {printable(question.prompt, newlines=False)}: "
            return await asyncio.to_thread(_read_line, prompt, self._stream)


def _read_line(prompt: str, stream: TextIO) -> str:
    print(prompt, end="", file=stream, flush=True)
    return sys.stdin.readline().strip()

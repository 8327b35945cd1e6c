"""One copy of what many tests need: the real ``fleetbot`` command, demo accounts, a
recording Reporter, and the Chromium processes under a pid."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from automation.reporting import ItemEvent
from automation.summary import RunProgress, RunSummary

FLEETBOT = [sys.executable, "-m", "cli"]
CSV_HEADER = "label,site,username,password,proxy,tags\n"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETBOT_")}
    env["FLEETBOT_STORAGE__DATA_DIR"] = str(data_dir)
    env["FLEETBOT_CONFIG"] = str(Path(__file__).resolve().parent.parent / "config.toml")
    env.update(extra)
    return env


def fleetbot(
    *args: str, data_dir: Path, stdin: str | None = None, timeout: float = 120, **env: str
) -> Result:
    proc = subprocess.run(
        [*FLEETBOT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=cli_env(data_dir, **env),
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


async def fleetbot_async(
    *args: str, env: Mapping[str, str], stdin: bytes | None = None
) -> tuple[int, str, str]:
    """Run the CLI without blocking the loop; its exit code, stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        *FLEETBOT,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env),
    )
    out, err = await proc.communicate(stdin)
    return proc.returncode or 0, out.decode(), err.decode()


def demo_accounts_csv(count: int, passwords: Mapping[str, str] | None = None) -> str:
    """An accounts CSV of demo1..demoN with the demo site's passwords (or the ones given)."""
    wrong = passwords or {}
    return CSV_HEADER + "".join(
        f"demo{k},demo,demo{k},{wrong.get(f'demo{k}', f'pw-demo{k}')},,\n"
        for k in range(1, count + 1)
    )


@dataclass
class RecordingReporter:
    """A real Reporter that remembers what it was told and wakes waiters on each run's end."""

    events: list[ItemEvent] = field(default_factory=list)
    finished: list[RunSummary] = field(default_factory=list)
    running: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def item_event(self, event: ItemEvent, progress: RunProgress) -> None:
        self.events.append(event)
        if event.status == "running":
            self.running.set()

    async def run_finished(self, summary: RunSummary) -> None:
        self.finished.append(summary)
        self._changed.set()

    async def wait_finished(self, count: int) -> None:
        """Until ``count`` runs have finished."""
        while len(self.finished) < count:
            self._changed.clear()
            await self._changed.wait()


def chromium_under(pid: int, *, browsers_only: bool = False) -> list[psutil.Process]:
    """Chromium processes descending from a pid; only the browsers (no renderers) if asked."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if "chrom" not in child.name().lower():
                continue
            if browsers_only and any(arg.startswith("--type=") for arg in child.cmdline()):
                continue  # a renderer, GPU or other helper process
            found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL a process and everything under it (Chromium, the Playwright driver)."""
    try:
        family = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in family:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            continue


def grep_tree(root: Path, needles: list[str]) -> list[tuple[Path, str]]:
    """Every (file, needle) where a needle appears in plain bytes under root."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [(path, n) for n in needles if n.encode() in data]
    return found


async def no_human(question: str) -> str:
    """An ItemContext's ask_human for tests where no site should ask anything."""
    raise AssertionError(f"nobody should be asked: {question}")

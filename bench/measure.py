"""What a benchmark configuration costs: wall time, CPU, memory (PSS) and event-loop lag.

CPU and memory cover this process and every process under it (Chromium, Playwright's
driver). bench/sampler.py reads them every 0.2 s from a separate process (reading /proc
in this one would hold the GIL and show up as loop lag), so short-lived children count
with their last reading; the loop-lag ticker is a task on the loop being measured.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

SAMPLER = Path(__file__).with_name("sampler.py")
TICK_S = 0.05


@dataclass
class Figures:
    """One configuration's measurements."""

    accounts: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    pss_mb_peak: float = 0.0
    lags_ms: list[float] = field(default_factory=list)
    cpu_s_by_kind: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        """The figures as the benchmark's JSON reports them."""
        return {
            "accounts": self.accounts,
            "wall_s": round(self.wall_s, 2),
            "accounts_per_min": round(self.accounts / self.wall_s * 60, 2) if self.wall_s else 0,
            "cpu_s_per_account": round(self.cpu_s / self.accounts, 3) if self.accounts else 0,
            "pss_mb_peak": round(self.pss_mb_peak, 1),
            "loop_lag_p99_ms": round(percentile(self.lags_ms, 0.99), 1),
            "loop_lag_median_ms": round(statistics.median(self.lags_ms or [0.0]), 1),
            "cpu_s_per_account_by_process": {
                role: round(seconds / self.accounts, 3) if self.accounts else 0
                for role, seconds in self.cpu_s_by_kind.items()
            },
        }


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of the values lie (0 for no values)."""
    ranked = sorted(values) or [0.0]
    return ranked[min(len(ranked) - 1, int(len(ranked) * share))]


async def tick(lags: list[float], stop: asyncio.Event) -> None:
    """Sleep TICK_S at a time until ``stop``, appending how late (ms) each wake-up was."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(TICK_S)  # the tick itself: its lateness is the loop's lag
        lags.append(max(0.0, (time.monotonic() - before - TICK_S) * 1000))


@asynccontextmanager
async def measured(accounts: int) -> AsyncIterator[Figures]:
    """Measure the body: wall time, CPU and peak PSS of the process tree, loop lag."""
    figures = Figures(accounts=accounts)
    sampler = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SAMPLER),
        str(os.getpid()),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    stop = asyncio.Event()
    ticker = asyncio.create_task(tick(figures.lags_ms, stop))
    start = time.monotonic()
    try:
        yield figures
    finally:
        figures.wall_s = time.monotonic() - start
        stop.set()
        await ticker
        out, _ = await sampler.communicate(b"")
    readings = json.loads(out)
    figures.cpu_s = float(readings["cpu_s"])
    figures.pss_mb_peak = float(readings["pss_mb_peak"])
    figures.cpu_s_by_kind = {k: float(v) for k, v in readings["cpu_s_by_kind"].items()}

"""What a benchmark configuration costs: wall time, CPU, memory (PSS) and event-loop lag.

CPU and memory cover this process and every process under it (Chromium, Playwright's
driver). A sampler thread reads them every 0.2 s, so short-lived children are counted by
their last reading; the loop-lag ticker is a task on the loop being measured.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import psutil

SAMPLE_S = 0.2
TICK_S = 0.05


@dataclass
class Figures:
    """One configuration's measurements."""

    accounts: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    pss_mb_peak: float = 0.0
    lags_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """The figures as the benchmark's JSON reports them."""
        lags = sorted(self.lags_ms) or [0.0]
        p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
        return {
            "accounts": self.accounts,
            "wall_s": round(self.wall_s, 2),
            "accounts_per_min": round(self.accounts / self.wall_s * 60, 2) if self.wall_s else 0,
            "cpu_s_per_account": round(self.cpu_s / self.accounts, 3) if self.accounts else 0,
            "pss_mb_peak": round(self.pss_mb_peak, 1),
            "loop_lag_p99_ms": round(p99, 1),
            "loop_lag_median_ms": round(statistics.median(lags), 1),
        }


class _Sampler(threading.Thread):
    """Reads the process tree's CPU times and PSS until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="bench-sampler")
        self.stop = threading.Event()
        self.cpu: dict[int, float] = {}
        self.peak_pss = 0
        self.me = psutil.Process()
        self.base_cpu = self._cpu(self.me)

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return float(times.user + times.system)

    def sample(self) -> None:
        pss = 0
        for proc in [self.me, *self.me.children(recursive=True)]:
            try:
                self.cpu[proc.pid] = self._cpu(proc)
                pss += proc.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        self.peak_pss = max(self.peak_pss, pss)

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_S):
            self.sample()


@contextmanager
def _tree_sampler() -> Iterator[_Sampler]:
    sampler = _Sampler()
    children_before = {p.pid: _Sampler._cpu(p) for p in sampler.me.children(recursive=True)}
    sampler.start()
    try:
        yield sampler
    finally:
        sampler.stop.set()
        sampler.join()
        sampler.sample()
        for pid, before in children_before.items():  # only what was spent while measuring
            if pid in sampler.cpu:
                sampler.cpu[pid] -= before
        sampler.cpu[sampler.me.pid] -= sampler.base_cpu


async def _ticker(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(TICK_S)  # the tick itself: its lateness is the loop's lag
        lags.append(max(0.0, (time.monotonic() - before - TICK_S) * 1000))


@asynccontextmanager
async def measured(accounts: int) -> AsyncIterator[Figures]:
    """Measure the body: wall time, CPU and peak PSS of the process tree, loop lag."""
    figures = Figures(accounts=accounts)
    stop = asyncio.Event()
    ticker = asyncio.create_task(_ticker(figures.lags_ms, stop))
    start = time.monotonic()
    with _tree_sampler() as sampler:
        try:
            yield figures
        finally:
            figures.wall_s = time.monotonic() - start
            stop.set()
            await ticker
    figures.cpu_s = sum(max(0.0, v) for v in sampler.cpu.values())
    figures.pss_mb_peak = sampler.peak_pss / 2**20

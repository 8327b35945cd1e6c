"""``automation.concurrency = "auto"``: how many accounts to drive at once, tuned live.

Every ``interval_s`` the autoscaler takes a ``Snapshot`` of the machine (system CPU,
available memory, and how late this event loop's own timers fired) and judges the level on
a window of the last ``Limits.window`` snapshots, all taken at the current level:

- down (by a quarter, at least one) when the window's mean CPU is over ``cpu_limit`` or
  more than ``lagging_share`` of its readings show loop lag over ``lag_limit_ms``, and at
  once when available memory drops under ``memory_floor_mb``;
- up when the mean CPU is comfortably under the limit (``calm_fraction`` of it), at most
  ``calm_lagging_share`` of the readings lag, and the runner used the level it had (there
  was work waiting) in most of the window: doubling until the first step down (a slow
  start, as TCP's congestion window), by one after it;
- otherwise it stays.

The slow start is what makes ``auto`` worth having on short runs: with a page costing
under a CPU-second in the headless shell, a 2-core machine runs 20 or more accounts at
once, and growing one step per window from 2 would take most of a short run to get there.
Starting at four per core and doubling, a 2-core machine is at 16 after one window; the
first sign of overload ends the doubling, and from there the level moves one step at a
time around what the machine can take.

A reading's lag is the worst of five 0.1 s probes, so letting one reading in ten lag still
keeps about 98 % of the probes on time; growth stops well before lag becomes the rule.

CPU is judged on the window's mean because page loads are bursts: two tabs loading at
once fill both cores of a small machine for a fraction of a second while the average
stays far below the limit, and half-second readings taken one by one would hold the
level at one or two however idle the machine is. Judging a window rather than one reading
also keeps a single slow tick from throwing the level back; starting a fresh window after
every change means each step is judged on readings taken at the new level; after a step
down the level does not grow for a few windows, so it settles instead of oscillating.
Readings never block the loop (``psutil.cpu_percent(interval=None)`` compares with the
previous call). The idea of judging overload over a window of snapshots follows
crawlee-python's AutoscaledPool and Snapshotter; the code is ours.

The runner publishes the level it uses with its heartbeat (``automation/presence.py``), so
other processes (``fleetbot runs show``, ``/status``) can tell what each runner does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import psutil

from automation.config import AutomationConfig

log = logging.getLogger(__name__)

LAG_TICK_S = 0.1  # the loop-lag probe's own period inside one sampling interval
# Where a run starts, per core: the headless shell keeps about four demo pages per core busy
# while they wait on the network (docs/PERFORMANCE.md); the first window corrects it.
PAGES_PER_CORE = 4


@dataclass(frozen=True)
class Snapshot:
    """The machine at one moment."""

    cpu_percent: float
    available_mb: float
    loop_lag_ms: float


@dataclass(frozen=True)
class Limits:
    """Where the machine counts as overloaded, and how the level reacts."""

    cpu_limit: float = 85.0  # mean system CPU over a window, percent
    memory_floor_mb: float = 768.0
    lag_limit_ms: float = 50.0
    window: int = 6  # snapshots judged together (3 s at the default interval)
    lagging_share: float = 0.25  # more of a window's readings lagging than this: too much
    calm_fraction: float = 0.9  # grow only while the mean CPU is under this share of the limit
    calm_lagging_share: float = 0.1  # ... and at most this share of the readings lag
    cooldown_windows: int = 2  # after a step down, no step up for this many more windows
    # Snapshots skipped after a change: a step down stops new items only, and those already
    # running take seconds to finish, so judging at once would blame the new level for the
    # old one's load and step down again.
    settle: int = 4

    @classmethod
    def for_browsers(cls, config: AutomationConfig) -> Limits:
        """The limits for this config's browsers.

        Chromium in Linux's SCHED_IDLE class (``automation.browser_idle``) takes only CPU
        time nothing else wants, so a full CPU starves neither the event loop nor other
        programs: it is only no reason to grow. The limit is then 100 % (never exceeded, so
        the level steps down for lag and memory alone) and growth stops at 90 %.
        """
        if config.browser_idle and sys.platform == "linux" and not config.connect_url:
            return cls(cpu_limit=100.0)
        return cls()


class Autoscaler:
    """Decides the concurrency level from snapshots; ``run()`` samples the real machine."""

    def __init__(
        self,
        max_level: int,
        *,
        limits: Limits | None = None,
        start_level: int | None = None,
        interval_s: float = 0.5,
        demand: Callable[[], bool] = lambda: True,
    ) -> None:
        self.max_level = max_level
        self.limits = limits or Limits()
        if start_level is None:
            start_level = PAGES_PER_CORE * (os.cpu_count() or 1)
        self.level = max(1, min(start_level, max_level))
        self.interval_s = interval_s
        self._demand = demand
        self._window: deque[tuple[Snapshot, bool]] = deque(maxlen=self.limits.window)
        self._hold = 0  # snapshots left before the level may grow again
        self._slow_start = True  # doubling, until the first step down
        self._settling = 0  # snapshots to skip after a change
        self._task: asyncio.Task[None] | None = None
        self.last: Snapshot | None = None

    def decide(self, snapshot: Snapshot, busy: bool) -> int:
        """The level after one more snapshot; ``busy``: every slot of the level was in use."""
        self.last = snapshot
        limits = self.limits
        self._hold = max(0, self._hold - 1)
        if snapshot.available_mb < limits.memory_floor_mb:
            return self._step_down()  # memory does not wait for a window: the OOM killer won't
        if self._settling:
            self._settling -= 1  # items started at the old level are still running
            return self.level
        self._window.append((snapshot, busy))
        if len(self._window) < limits.window:
            return self.level
        readings = [s for s, _ in self._window]
        cpu = sum(s.cpu_percent for s in readings) / len(readings)
        lagging = sum(s.loop_lag_ms > limits.lag_limit_ms for s in readings) / len(readings)
        if cpu > limits.cpu_limit or lagging > limits.lagging_share:
            return self._step_down()
        calm = (
            cpu < limits.cpu_limit * limits.calm_fraction and lagging <= limits.calm_lagging_share
        )
        wanted = sum(busy for _, busy in self._window) * 2 > len(self._window)
        if calm and wanted and not self._hold and self.level < self.max_level:
            self.level = min(
                self.max_level, self.level * 2 if self._slow_start else self.level + 1
            )
            self._window.clear()
            self._settling = limits.settle
        return self.level

    def _step_down(self) -> int:
        self._slow_start = False
        self.level = max(1, self.level - max(1, self.level // 4))
        self._window.clear()
        self._settling = self.limits.settle
        self._hold = self.limits.window * (self.limits.cooldown_windows + 1) + self._settling
        return self.level

    async def __aenter__(self) -> Self:
        if self._task is not None:
            raise RuntimeError("autoscaler already started")
        psutil.cpu_percent(interval=None)  # prime: the first call has nothing to compare
        self._task = asyncio.create_task(self.run(), name="autoscaler")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """Sample every interval and decide, until cancelled."""
        while True:
            lag_ms = await _worst_lag_ms(self.interval_s)
            try:
                snapshot = Snapshot(
                    cpu_percent=psutil.cpu_percent(interval=None),
                    available_mb=psutil.virtual_memory().available / 2**20,
                    loop_lag_ms=lag_ms,
                )
            except (psutil.Error, OSError):
                log.warning("could not read the machine's load; keeping level %d", self.level)
                continue
            before = self.level
            if self.decide(snapshot, busy=self._demand()) != before:
                log.debug("concurrency %d -> %d (%s)", before, self.level, snapshot)


async def _worst_lag_ms(period_s: float) -> float:
    """Sleep for period_s in short ticks; return the latest any tick woke (ms)."""
    worst = 0.0
    end = time.monotonic() + period_s
    while (left := end - time.monotonic()) > 0:
        tick = min(LAG_TICK_S, left)
        before = time.monotonic()
        await asyncio.sleep(tick)  # the probe itself: its lateness is the loop's lag
        worst = max(worst, (time.monotonic() - before - tick) * 1000)
    return worst

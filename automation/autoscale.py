"""``automation.concurrency = "auto"``: how many accounts to drive at once, tuned live.

Every ``interval_s`` the autoscaler takes a snapshot of the machine — system CPU, available
memory, and this event loop's lag (how late its own timer fired) — and moves the level:

- down (by a quarter, at least one) as soon as any limit is crossed: CPU over
  ``cpu_limit``, available memory under ``memory_floor_mb``, loop lag over ``lag_limit_ms``;
- up by one when every reading is comfortably inside its limit and the runner is
  actually using the current level (there is work waiting);
- otherwise it stays.

Overload wins over demand, a step up needs two calm snapshots in a row, and a step down
blocks steps up for a few intervals, so the level settles instead of oscillating. The
readings are non-blocking (``psutil.cpu_percent(interval=None)`` compares with the previous
call). The idea follows crawlee-python's AutoscaledPool; the code is ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import psutil

CALM_FRACTION = 0.8  # a reading counts as calm below this share of its limit
CALM_SNAPSHOTS_TO_GROW = 2
COOLDOWN_SNAPSHOTS = 3


@dataclass(frozen=True)
class Snapshot:
    """The machine at one moment."""

    cpu_percent: float
    available_mb: float
    loop_lag_ms: float


@dataclass(frozen=True)
class Limits:
    """Where the machine counts as overloaded."""

    cpu_limit: float = 85.0
    memory_floor_mb: float = 768.0
    lag_limit_ms: float = 50.0


class Autoscaler:
    """Decides the concurrency level from snapshots; ``run()`` samples the real machine."""

    def __init__(
        self,
        max_level: int,
        *,
        limits: Limits | None = None,
        start_level: int = 2,
        interval_s: float = 1.0,
        demand: Callable[[], bool] = lambda: True,
    ) -> None:
        self.max_level = max_level
        self.limits = limits or Limits()
        self.level = max(1, min(start_level, max_level))
        self.interval_s = interval_s
        self._demand = demand
        self._calm = 0
        self._cooldown = 0
        self._task: asyncio.Task[None] | None = None
        self.last: Snapshot | None = None

    def decide(self, snapshot: Snapshot, busy: bool) -> int:
        """The new level after one snapshot; ``busy``: the current level is all in use."""
        self.last = snapshot
        limits = self.limits
        overloaded = (
            snapshot.cpu_percent > limits.cpu_limit
            or snapshot.available_mb < limits.memory_floor_mb
            or snapshot.loop_lag_ms > limits.lag_limit_ms
        )
        if overloaded:
            self.level = max(1, self.level - max(1, self.level // 4))
            self._calm, self._cooldown = 0, COOLDOWN_SNAPSHOTS
            return self.level
        if self._cooldown:
            self._cooldown -= 1
            return self.level
        calm = (
            snapshot.cpu_percent < limits.cpu_limit * CALM_FRACTION
            and snapshot.available_mb > limits.memory_floor_mb / CALM_FRACTION
            and snapshot.loop_lag_ms < limits.lag_limit_ms * CALM_FRACTION
        )
        self._calm = self._calm + 1 if calm and busy else 0
        if self._calm >= CALM_SNAPSHOTS_TO_GROW and self.level < self.max_level:
            self.level += 1
            self._calm = 0
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
            before = time.monotonic()
            await asyncio.sleep(self.interval_s)  # the sampling period; its lateness is the lag
            lag_ms = max(0.0, (time.monotonic() - before - self.interval_s) * 1000)
            snapshot = Snapshot(
                cpu_percent=psutil.cpu_percent(interval=None),
                available_mb=psutil.virtual_memory().available / 2**20,
                loop_lag_ms=lag_ms,
            )
            self.decide(snapshot, busy=self._demand())

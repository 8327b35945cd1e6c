"""The autoscaler's decisions from given readings."""

from __future__ import annotations

import os
import sys

import pytest
from pydantic import ValidationError

from automation.autoscale import Autoscaler, Limits, Snapshot
from automation.config import AutomationConfig
from automation.presence import PublishedLevel

CALM = Snapshot(cpu_percent=20, available_mb=8000, loop_lag_ms=2)
HOT_CPU = Snapshot(cpu_percent=95, available_mb=8000, loop_lag_ms=2)
LAGGING = Snapshot(cpu_percent=20, available_mb=8000, loop_lag_ms=120)
LOW_MEMORY = Snapshot(cpu_percent=20, available_mb=300, loop_lag_ms=2)


def feed(scaler: Autoscaler, readings: list[Snapshot], busy: bool = True) -> list[int]:
    return [scaler.decide(reading, busy=busy) for reading in readings]


def test_doubles_per_calm_busy_window_up_to_the_max_and_lets_each_level_settle() -> None:
    scaler = Autoscaler(12, start_level=2, limits=Limits(window=3, settle=2))
    # Three readings judged, then two skipped while the new level takes over.
    assert feed(scaler, [CALM] * 13) == [2, 2, 4, 4, 4, 4, 4, 8, 8, 8, 8, 8, 12]


def test_after_the_first_step_down_it_grows_one_step_at_a_time() -> None:
    limits = Limits(window=2, settle=0, cooldown_windows=0)
    scaler = Autoscaler(32, start_level=4, limits=limits)
    assert feed(scaler, [CALM, CALM]) == [4, 8]
    assert feed(scaler, [HOT_CPU, HOT_CPU]) == [8, 6]
    assert feed(scaler, [CALM] * 6) == [6, 7, 7, 8, 8, 9]  # one step per calm window


def test_starts_at_four_pages_per_core_by_default() -> None:
    assert Autoscaler(64).level == 4 * (os.cpu_count() or 1)
    assert Autoscaler(3).level == 3


def test_cpu_only_stops_growth_when_chromium_runs_in_the_idle_class() -> None:
    idle = Limits.for_browsers(AutomationConfig(browser_idle=True))
    nice = Limits.for_browsers(AutomationConfig(browser_idle=False))
    assert nice.cpu_limit == 85
    if sys.platform == "linux":
        assert idle.cpu_limit == 100
        scaler = Autoscaler(16, start_level=8, limits=Limits(window=2, cpu_limit=100))
        assert feed(scaler, [HOT_CPU] * 6) == [8] * 6  # a full CPU holds, nothing else
    remote = AutomationConfig(browser_idle=True, connect_url="ws://127.0.0.1:1/")
    assert Limits.for_browsers(remote).cpu_limit == 85  # the CPU here is not Chromium's


def test_does_not_grow_without_demand() -> None:
    scaler = Autoscaler(8, start_level=2, limits=Limits(window=3))
    assert set(feed(scaler, [CALM] * 12, busy=False)) == {2}


def test_one_slow_reading_in_a_window_neither_shrinks_nor_grows() -> None:
    scaler = Autoscaler(16, start_level=4, limits=Limits(window=5, lagging_share=0.4))
    assert feed(scaler, [CALM, LAGGING, CALM, CALM, CALM, CALM]) == [4] * 6
    # Once the slow reading has left the window, the level grows again.
    assert feed(scaler, [CALM]) == [8]


def test_sustained_cpu_or_lag_shrinks_by_a_quarter_each_window() -> None:
    for hot in (HOT_CPU, LAGGING):
        scaler = Autoscaler(16, start_level=8, limits=Limits(window=4, settle=1))
        levels = feed(scaler, [hot] * 14)
        assert levels == [8, 8, 8, 6, 6, 6, 6, 6, 5, 5, 5, 5, 5, 4], hot


def test_cpu_counts_by_its_mean_so_short_bursts_do_not_shrink() -> None:
    # Two page loads at once fill both cores for a moment; the window's mean is 50 %: it grows.
    scaler = Autoscaler(32, start_level=8, limits=Limits(window=5, settle=0))
    assert feed(scaler, [HOT_CPU, CALM, HOT_CPU, CALM, CALM]) == [8, 8, 8, 8, 16]
    # One lagging reading (under the overloaded share) holds the level: no growth, no shrink.
    assert feed(scaler, [LAGGING, CALM, CALM, CALM, CALM]) == [16] * 5


def test_rare_lag_still_lets_it_grow() -> None:
    # One lagging reading in ten is within calm_lagging_share (the p99 target, per window).
    scaler = Autoscaler(16, start_level=4, limits=Limits(window=10, calm_lagging_share=0.1))
    assert feed(scaler, [LAGGING] + [CALM] * 9) == [4] * 9 + [8]


def test_lag_in_more_than_the_lagging_share_shrinks_even_with_idle_cpu() -> None:
    scaler = Autoscaler(16, start_level=8, limits=Limits(window=5, lagging_share=0.4))
    assert feed(scaler, [LAGGING, CALM, LAGGING, CALM, LAGGING]) == [8, 8, 8, 8, 6]


def test_warm_cpu_holds_the_level() -> None:
    warm = Snapshot(cpu_percent=80, available_mb=8000, loop_lag_ms=2)  # under 85, over 76.5
    scaler = Autoscaler(16, start_level=3, limits=Limits(window=3))
    assert set(feed(scaler, [warm] * 12)) == {3}


def test_low_memory_shrinks_at_once_without_waiting_for_a_window() -> None:
    scaler = Autoscaler(16, start_level=8)
    assert feed(scaler, [LOW_MEMORY, LOW_MEMORY, CALM]) == [6, 5, 5]


def test_never_below_one_and_no_growth_during_the_cooldown() -> None:
    limits = Limits(window=2, cooldown_windows=1, settle=1)
    scaler = Autoscaler(4, start_level=1, limits=limits)
    assert feed(scaler, [LOW_MEMORY]) == [1]
    # One reading to settle, the window after it, one cooldown window: growth on the 5th.
    assert feed(scaler, [CALM] * 8) == [1, 1, 1, 1, 2, 2, 2, 3]


def test_published_level_describes_itself() -> None:
    auto = PublishedLevel("box:4242:1700000000000:ab12cd34", 3, auto=True, max_level=8)
    fixed = PublishedLevel("box:77:1700000000000:ab12cd34", 4, auto=False, max_level=4)
    assert auto.describe() == "runner 4242@box: concurrency 3 (auto, up to 8)"
    assert fixed.describe() == "runner 77@box: concurrency 4"


def test_concurrency_is_auto_by_default_or_a_number_from_1_to_64() -> None:
    assert AutomationConfig().concurrency == "auto"
    assert AutomationConfig.model_validate({"concurrency": "8"}).concurrency == 8  # from env
    for bad in (0, 65, "fast"):
        with pytest.raises(ValidationError):
            AutomationConfig.model_validate({"concurrency": bad})

"""The autoscaler's decisions from given readings."""

from __future__ import annotations

from automation.autoscale import Autoscaler, Snapshot

CALM = Snapshot(cpu_percent=20, available_mb=8000, loop_lag_ms=2)


def test_grows_one_step_per_two_calm_busy_snapshots_up_to_the_max() -> None:
    scaler = Autoscaler(4, start_level=2)
    levels = [scaler.decide(CALM, busy=True) for _ in range(8)]
    assert levels == [2, 3, 3, 4, 4, 4, 4, 4]


def test_does_not_grow_without_demand() -> None:
    scaler = Autoscaler(8, start_level=2)
    assert {scaler.decide(CALM, busy=False) for _ in range(10)} == {2}


def test_each_limit_alone_shrinks_the_level() -> None:
    for hot in (
        Snapshot(cpu_percent=95, available_mb=8000, loop_lag_ms=2),
        Snapshot(cpu_percent=20, available_mb=300, loop_lag_ms=2),
        Snapshot(cpu_percent=20, available_mb=8000, loop_lag_ms=120),
    ):
        scaler = Autoscaler(16, start_level=8)
        assert scaler.decide(hot, busy=True) == 6, hot  # down by a quarter
        assert scaler.decide(hot, busy=True) == 5
        assert scaler.decide(hot, busy=False) == 4


def test_never_below_one_and_waits_after_overload() -> None:
    scaler = Autoscaler(4, start_level=1)
    hot = Snapshot(cpu_percent=99, available_mb=100, loop_lag_ms=500)
    assert scaler.decide(hot, busy=True) == 1
    # Cool-down: three calm snapshots change nothing, then two more grow one step.
    assert [scaler.decide(CALM, busy=True) for _ in range(5)] == [1, 1, 1, 1, 2]


def test_warm_but_not_hot_holds_the_level() -> None:
    scaler = Autoscaler(8, start_level=3)
    warm = Snapshot(cpu_percent=75, available_mb=8000, loop_lag_ms=2)
    assert {scaler.decide(warm, busy=True) for _ in range(6)} == {3}

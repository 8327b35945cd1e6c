"""Daylight-saving changes: nothing lost, nothing repeated, skipped times fire at the jump.

Hand cases at every change of 2026-2028 in the zones the differential test uses, plus one
regression test for each of issue #14's DST classes (1-3) with the issue's own examples.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from automation.schedules import parse_when
from tests.unit.test_schedules_differential import ZONES, transitions

CHANGES = [
    (name, jump) for name in ZONES for jump in transitions(ZoneInfo(name))
]  # Berlin, New York, Lord Howe: 6 each; UTC and Moscow have none


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(fire: datetime, zone: str) -> str:
    return fire.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M%z")


def by_hand(wall: datetime, jump: datetime, zone: ZoneInfo) -> datetime:
    """The README's rule near one change: first occurrence, or the jump for a skipped time."""
    before = (jump - timedelta(minutes=1)).astimezone(zone).utcoffset()
    after = jump.astimezone(zone).utcoffset()
    assert before is not None and after is not None
    naive = jump.replace(tzinfo=None)
    clock_reaches, clock_resumes = naive + before, naive + after  # the wall clock at the jump
    if wall < clock_reaches:
        return (wall - before).replace(tzinfo=UTC)  # autumn: the first of two occurrences
    if wall < clock_resumes:
        return jump  # spring: the clock never shows it; fire when it jumps past
    return (wall - after).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "times"),
    [
        ("daily 00:00", ["00:00"]),
        ("daily 02:30", ["02:30"]),
        ("30 2 * * *", ["02:30"]),
        ("15,45 2 * * *", ["02:15", "02:45"]),
    ],
)
@pytest.mark.parametrize(("zone", "jump"), CHANGES, ids=str)
def test_clock_lines_at_every_change(
    expression: str, times: list[str], zone: str, jump: datetime
) -> None:
    tz = ZoneInfo(zone)
    change_day = jump.astimezone(tz).date()
    walls = [
        datetime.combine(change_day + timedelta(days=offset), time(*map(int, t.split(":"))))
        for offset in range(-2, 3)
        for t in times
    ]
    expected = sorted({by_hand(wall, jump, tz) for wall in walls})
    start, end = expected[0] - timedelta(seconds=1), expected[-1]
    fires = parse_when(expression, zone).fires_between(start, until=end)
    assert [fire.astimezone(UTC) for fire in fires] == expected
    days = [fire.astimezone(tz).date() for fire in fires]
    assert sorted(set(days)) == [change_day + timedelta(days=k) for k in range(-2, 3)]


@pytest.mark.parametrize(("zone", "jump"), CHANGES, ids=str)
def test_the_first_of_the_month_at_every_change(zone: str, jump: datetime) -> None:
    tz = ZoneInfo(zone)
    fires = parse_when("0 0 1 * *", zone).next_fires(3, after=jump - timedelta(days=40))
    month = (jump - timedelta(days=40)).astimezone(tz).date().replace(day=1)
    expected = []
    for _ in range(3):
        month = (month + timedelta(days=32)).replace(day=1)
        expected.append(datetime.combine(month, datetime.min.time(), tzinfo=tz))
    assert fires == expected


@pytest.mark.parametrize(("zone", "jump"), CHANGES, ids=str)
def test_every_hour_counts_elapsed_time_at_every_change(zone: str, jump: datetime) -> None:
    anchor = jump - timedelta(hours=5, minutes=43)
    when = parse_when("every 1 hours", zone)
    fires = when.fires_between(jump - timedelta(hours=3), count=6, anchor=anchor)
    assert [fire.astimezone(UTC) for fire in fires] == [
        anchor + timedelta(hours=k) for k in range(3, 9)
    ]
    walls = [fire.astimezone(ZoneInfo(zone)).replace(tzinfo=None) for fire in fires]
    steps = {b - a for a, b in itertools.pairwise(walls)}
    # The clock moved by the change: the wall-clock gaps are 1 h plus one of 1 h +/- the shift.
    shift = (
        jump.astimezone(ZoneInfo(zone)).utcoffset()
        - (jump - timedelta(minutes=1)).astimezone(ZoneInfo(zone)).utcoffset()
    )
    assert steps == {timedelta(hours=1), timedelta(hours=1) + shift}


# Issue #14, class 1: a real fire lost after a spring change.
def test_class1_no_fire_is_lost_after_a_spring_change() -> None:
    fires = parse_when("daily 00:00", "Europe/Berlin").next_fires(4, after=utc(2026, 3, 27, 19))
    assert [local(f, "Europe/Berlin") for f in fires] == [
        "2026-03-28 00:00+0100",
        "2026-03-29 00:00+0100",
        "2026-03-30 00:00+0200",
        "2026-03-31 00:00+0200",
    ]
    monthly = parse_when("0 0 1 * *", "America/New_York").next_fires(3, after=utc(2026, 2, 15))
    assert [f.date() for f in monthly] == [date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)]


# Issue #14, class 2: a time that does not exist fires late or never.
def test_class2_a_skipped_time_fires_once_when_the_clocks_jump() -> None:
    berlin = parse_when("30 2 * * *", "Europe/Berlin").next_fires(1, after=utc(2026, 3, 29))
    assert [local(f, "Europe/Berlin") for f in berlin] == ["2026-03-29 03:00+0200"]
    new_york = parse_when("56 0-8 * * *", "America/New_York")
    fires = new_york.next_fires(4, after=utc(2026, 3, 8, 5, 30))
    assert [local(f, "America/New_York") for f in fires] == [
        "2026-03-08 00:56-0500",
        "2026-03-08 01:56-0500",
        "2026-03-08 03:00-0400",  # 02:56 does not exist: the clocks jumped 02:00 -> 03:00
        "2026-03-08 03:56-0400",
    ]


# Issue #14, class 3: the repeated autumn hour fired twice for lines with several fires in it.
def test_class3_the_repeated_autumn_hour_fires_each_time_once() -> None:
    fires = parse_when("15,45 2 * * *", "Europe/Berlin").next_fires(4, after=utc(2026, 10, 25))
    assert [local(f, "Europe/Berlin") for f in fires] == [
        "2026-10-25 02:15+0200",
        "2026-10-25 02:45+0200",
        "2026-10-26 02:15+0100",
        "2026-10-26 02:45+0100",
    ]


def test_a_line_with_a_star_hour_fires_once_per_wall_clock_hour() -> None:
    """The documented rule for '*' lines: the same as every line (cronie repeats them)."""
    hourly = parse_when("0 * * * *", "Europe/Berlin")
    autumn = hourly.next_fires(3, after=utc(2026, 10, 24, 22, 30))
    assert [local(f, "Europe/Berlin") for f in autumn] == [
        "2026-10-25 01:00+0200",
        "2026-10-25 02:00+0200",
        "2026-10-25 03:00+0100",  # 02:00 CET is the repeat: two real hours after 02:00 CEST
    ]
    spring = hourly.next_fires(3, after=utc(2026, 3, 28, 23, 30))
    assert [local(f, "Europe/Berlin") for f in spring] == [
        "2026-03-29 01:00+0100",
        "2026-03-29 03:00+0200",  # 02:00 was skipped: it fires at the jump, which is 03:00
        "2026-03-29 04:00+0200",
    ]
    quarterly = parse_when("*/15 * * * *", "Australia/Lord_Howe")
    half_hour_back = quarterly.next_fires(4, after=utc(2026, 4, 4, 14, 40))
    assert [local(f, "Australia/Lord_Howe") for f in half_hour_back] == [
        "2026-04-05 01:45+1100",
        "2026-04-05 02:00+1030",  # 01:30 and 01:45 came again at +10:30: not fired twice
        "2026-04-05 02:15+1030",
        "2026-04-05 02:30+1030",
    ]


def test_every_hour_fires_by_elapsed_time_on_the_long_and_short_days() -> None:
    """README: 25 fires on Berlin's 25-hour autumn day, 23 on its spring one."""
    berlin = ZoneInfo("Europe/Berlin")
    for day, count in ((date(2026, 10, 25), 25), (date(2026, 3, 29), 23)):
        midnight = datetime.combine(day, time(), tzinfo=berlin).astimezone(UTC)
        next_midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=berlin)
        when = parse_when("every 1 hours", "Europe/Berlin")
        fires = when.fires_between(
            midnight - timedelta(seconds=1),
            until=next_midnight - timedelta(seconds=1),
            anchor=midnight,
        )
        assert len(fires) == count

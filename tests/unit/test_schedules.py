"""Schedule expressions: what is accepted, what is refused and when it fires."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from automation.crontab import parse_crontab
from automation.schedules import ScheduleError, parse_when

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "zone", "first"),
    [
        ("daily 09:30", "UTC", datetime(2026, 11, 23, 9, 30, tzinfo=UTC)),
        ("daily 15:00", "Europe/Moscow", datetime(2026, 11, 22, 12, 0, tzinfo=UTC)),
        ("weekdays 08:00", "UTC", datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),  # 22nd is a Sunday
        ("every 90 seconds", "UTC", NOW),
        ("every 2 hours", "UTC", NOW),
        ("0 9 * * mon-fri", "UTC", datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
        ("0 9 * * 1-5", "UTC", datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),  # crontab: Mon-Fri
    ],
)
def test_next_fires(expression: str, zone: str, first: datetime) -> None:
    fires = parse_when(expression, zone).next_fires(3, after=NOW)
    assert len(fires) == 3
    assert fires[0] == first
    assert fires == sorted(set(fires))


def test_intervals_step_evenly() -> None:
    fires = parse_when("every 15 minutes", "UTC").next_fires(3, after=NOW)
    assert [b - a for a, b in itertools.pairwise(fires)] == [timedelta(minutes=15)] * 2


@pytest.mark.parametrize(
    ("expression", "zone", "complaint"),
    [
        ("daily 25:00", "UTC", "HH:MM"),
        ("daily 9", "UTC", "HH:MM"),
        ("every 0 minutes", "UTC", "at least 1 second"),
        ("every few minutes", "UTC", "every N minutes"),
        ("0 9 * *", "UTC", "not a schedule"),
        ("0 99 * * *", "UTC", "not a valid cron"),
        ("daily 09:00", "Mars/Olympus", "unknown time zone"),
        ("daily 09:00", "../../etc/passwd", "unknown time zone"),
        ("every 99999999999 hours", "UTC", "at most 366 days"),
        ("0 0 31 2 *", "UTC", "never fires"),
        ("0 9 * * 8", "UTC", "day of week '8': 8 is not between 0 and 7"),
        ("0 9 * * 5-1", "UTC", "day of week '5-1' is not a valid range"),
        ("0 9 * * */0", "UTC", "day of week '*/0' is not a valid range"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expression: str, zone: str, complaint: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_when(expression, zone)
    assert complaint in str(caught.value)


def test_daylight_saving_neither_skips_nor_doubles_a_daily_fire() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # Clocks go forward on 2027-03-28 and back on 2027-10-31 in Berlin.
    for start in (datetime(2027, 3, 26, tzinfo=UTC), datetime(2027, 10, 29, tzinfo=UTC)):
        fires = parse_when("daily 02:30", "Europe/Berlin").next_fires(5, after=start)
        local_days = [fire.astimezone(berlin).date() for fire in fires]
        assert len(set(local_days)) == 5, fires  # one fire per local day
        assert [(b - a).days for a, b in itertools.pairwise(local_days)] == [1] * 4


def walk(when, after: datetime, now: datetime, anchor: datetime) -> list[datetime]:
    """Every fire the raw APScheduler trigger yields in (after, now], one by one."""
    trigger, fires, previous = when.trigger(anchor), [], None
    cursor = after + timedelta(microseconds=1)
    while (fire := trigger.get_next_fire_time(previous, cursor)) is not None and fire <= now:
        fires.append(fire.astimezone(UTC))
        # In UTC: a zoned time plus 1 µs steps on the wall clock and can go back an hour.
        previous, cursor = fire, fire.astimezone(UTC) + timedelta(microseconds=1)
    return fires


@pytest.mark.parametrize(
    ("expression", "zone"),
    [
        ("daily 02:30", "Europe/Berlin"),
        ("weekdays 09:15", "Europe/Moscow"),
        ("*/20 9-18 * * mon-fri", "America/New_York"),
        ("30 2 13 * 5", "Europe/Berlin"),
        ("every 7 seconds", "UTC"),
        ("every 3 hours", "Asia/Kolkata"),
    ],
)
def test_latest_fire_is_the_last_one_the_trigger_yields(expression: str, zone: str) -> None:
    when = parse_when(expression, zone)
    anchor = datetime(2027, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    for days, span_s in [(3, 50), (88, 3600), (200, 86_400), (303, 7 * 86_400), (86, 600)]:
        after = anchor + timedelta(days=days, seconds=41, microseconds=777)
        now = after + timedelta(seconds=span_s)
        fires = walk(when, after, now, anchor)
        latest = when.latest_fire(after, now, anchor=anchor)
        assert latest == (fires[-1] if fires else None), (after, now)


def test_latest_fire_after_a_long_gap_is_cheap_and_exact() -> None:
    when = parse_when("every 1 second", "UTC")
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    now = datetime(2027, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)
    assert when.latest_fire(anchor, now, anchor=anchor) == datetime(2027, 1, 1, tzinfo=UTC)
    assert when.latest_fire(now, now + timedelta(microseconds=10), anchor=anchor) is None


def test_the_trigger_apscheduler_runs_fires_the_repeated_autumn_hour_once() -> None:
    """APScheduler's own CronTrigger repeats 02:30; ours asks the evaluator, which does not."""
    when = parse_when("daily 02:30", "Europe/Berlin")
    trigger = when.trigger()
    first = trigger.get_next_fire_time(None, datetime(2027, 10, 31, tzinfo=UTC))
    second = trigger.get_next_fire_time(first, first)
    assert first.astimezone(UTC) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert second.astimezone(UTC) == datetime(2027, 11, 1, 1, 30, tzinfo=UTC)
    later = datetime(2027, 10, 31, 1, 31, tzinfo=UTC)
    assert when.latest_fire(first - timedelta(seconds=1), later) == first.astimezone(UTC)


@pytest.mark.parametrize(
    ("field", "days"),
    [
        ("*", {0, 1, 2, 3, 4, 5, 6}),
        ("mon-fri", {1, 2, 3, 4, 5}),
        ("1-5", {1, 2, 3, 4, 5}),
        ("0", {0}),
        ("7", {0}),
        ("0-6", {0, 1, 2, 3, 4, 5, 6}),
        ("*/2", {0, 2, 4, 6}),
        ("1-5/2", {1, 3, 5}),
        ("6,0", {6, 0}),
        ("mon,3", {1, 3}),
        ("SUN-thu", {0, 1, 2, 3, 4}),
        ("5-0", {5, 6, 0}),
        ("2-sun", {2, 3, 4, 5, 6, 0}),
        ("fri-sun/2", {5, 0}),
    ],
)
def test_crontab_weekday_numbers_mean_what_crontab_means(field: str, days: set[int]) -> None:
    assert parse_crontab(f"0 9 * * {field}").weekdays == days


def test_weekday_numbers_fire_on_crontab_days() -> None:
    fires = parse_when("0 9 * * 0,6", "UTC").next_fires(4, after=NOW)  # NOW is a Sunday
    assert [fire.strftime("%a") for fire in fires] == ["Sat", "Sun", "Sat", "Sun"]


def test_day_of_month_or_day_of_week_as_in_crontab() -> None:
    """Both restricted: crontab fires when either matches (APScheduler alone needs both)."""
    fires = parse_when("0 9 13 * fri", "UTC").next_fires(4, after=NOW)
    assert [f"{fire:%a %d}" for fire in fires] == ["Fri 27", "Fri 04", "Fri 11", "Sun 13"]

"""Schedule expressions: what is accepted, what is refused and when it fires."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

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

"""Cron lines read as crontab(5) reads them: issue #14's parsing classes (4-6)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from automation.schedules import ScheduleError, parse_when

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # a Sunday


# Issue #14, class 4: month-name ranges lost their step.
def test_class4_a_month_name_range_keeps_its_step() -> None:
    fires = parse_when("0 9 1 jan-jun/2 *", "UTC").next_fires(4, after=NOW)
    assert [f"{fire:%Y-%m}" for fire in fires] == ["2027-01", "2027-03", "2027-05", "2028-01"]
    upper = parse_when("0 9 1 JAN-Dec/5 *", "UTC").next_fires(3, after=NOW)
    assert [f"{fire:%b}" for fire in upper] == ["Jan", "Jun", "Nov"]


# Issue #14, class 5: valid crontab lines were refused.
@pytest.mark.parametrize(
    ("line", "days"),
    [
        ("0 9 * * sun-thu", ["Sun", "Mon", "Tue", "Wed", "Thu", "Sun", "Mon"]),
        ("0 9 * * 5-0", ["Sun", "Fri", "Sat", "Sun", "Fri", "Sat", "Sun"]),  # Fri to Sunday
        ("0 9 * * 2-sun", ["Sun", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]),
        ("0 9 * * Sat-SUN", ["Sun", "Sat", "Sun", "Sat", "Sun", "Sat", "Sun"]),
    ],
)
def test_class5_weekday_ranges_to_sunday_are_crontab(line: str, days: list[str]) -> None:
    fires = parse_when(line, "UTC").next_fires(7, after=NOW.replace(hour=0))
    assert [f"{fire:%a}" for fire in fires] == days


@pytest.mark.parametrize(
    ("line", "times"),
    [
        ("*/60 * * * *", ["12:00", "13:00", "14:00"]),  # a step past the range: minute 0
        ("0 */24 * * *", ["00:00", "00:00", "00:00"]),
        ("*/45 */13 * * *", ["13:00", "13:45", "00:00"]),
    ],
)
def test_class5_steps_larger_than_their_range_are_crontab(line: str, times: list[str]) -> None:
    fires = parse_when(line, "UTC").next_fires(3, after=NOW)
    assert [f"{fire:%H:%M}" for fire in fires] == times


# Issue #14, class 6: invalid lines were accepted, or refused with a Python message.
@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("\uff11\uff12 * * * *", "minute '\uff11\uff12': '\uff11' is not a digit (only 0-9 are)"),
        ("0 ² * * *", "hour '²': '²' is not a digit (only 0-9 are)"),
        ("every \uff11 hours", "'\uff11' is not a digit (only 0-9 are)"),
        ("daily \uff109:00", "'\uff10' is not a digit (only 0-9 are)"),
        ("0 9 * * mon-", "day of week 'mon-' is not crontab"),
        ("0 9 * * mon-fri-sat", "day of week 'mon-fri-sat' is not crontab"),
        ("0 9 * * mon;fri", "day of week 'mon;fri' is not crontab"),
        ("0 9 * * monday", "day of week 'monday': 'monday' is not a number or a day name"),
        ("0 9 * january *", "month 'january': 'january' is not a number or a month name"),
        ("5/15 * * * *", "minute '5/15': a step needs a range or '*' (write 5-59/15 or */15)"),
        ("0 9 last * *", "day of month 'last': 'last' is not a number"),
        ("0 9 L * *", "day of month 'L': 'L' is not a number"),
        ("0 9 * * 5#2", "day of week '5#2' is not crontab"),
        ("0 9 1,,2 * *", "day of month: an empty list item is not crontab"),
        ("0 24 * * *", "hour '24': 24 is not between 0 and 23"),
        ("0 9 0 * *", "day of month '0': 0 is not between 1 and 31"),
        ("0 9 * 13 *", "month '13': 13 is not between 1 and 12"),
        ("0 9 * * 8", "day of week '8': 8 is not between 0 and 7"),
        ("30-10 * * * *", "minute '30-10' is not a valid range: it runs backwards"),
        ("0 9 * * fri-mon", "day of week 'fri-mon' is not a valid range: it runs backwards"),
        ("*/0 * * * *", "minute '*/0' is not a valid range: a step must be at least 1"),
        ("0 0 30 feb *", "never fires (no such date)"),
    ],
)
def test_class6_invalid_lines_are_refused_naming_field_and_fault(
    expression: str, complaint: str
) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_when(expression, "UTC")
    assert complaint in str(caught.value)
    assert "invalid literal" not in str(caught.value)  # Python's words never reach people


def test_only_three_letter_names_in_any_case_are_names() -> None:
    fires = parse_when("0 9 * JUL-aug MoN,fRi", "UTC").next_fires(3, after=NOW)
    assert [f"{fire:%a %d %b}" for fire in fires] == ["Fri 02 Jul", "Mon 05 Jul", "Fri 09 Jul"]


def test_daily_and_weekdays_agree_with_their_cron_forms() -> None:
    for zone in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe"):
        for plain, cron in (("daily 02:30", "30 2 * * *"), ("weekdays 02:15", "15 2 * * 1-5")):
            for start in (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 9, 25, tzinfo=UTC)):
                assert parse_when(plain, zone).next_fires(60, after=start) == parse_when(
                    cron, zone
                ).next_fires(60, after=start)

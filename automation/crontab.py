"""Standard 5-field crontab lines, read as crontab(5) (cronie) reads them, and their wall times.

Grammar per field, a comma list of elements: ``*``, ``*/STEP``, ``N``, ``N-M`` or
``N-M/STEP``; numbers are ASCII digits, month and day-of-week also take their three-letter
English names in any case (``jan``, ``mon``). As in cronie: weekday 0 and 7 are Sunday, so a
weekday range may end on Sunday from any day (``5-0``, ``2-sun``); a step larger than its
range just picks the first value (``*/60`` is minute 0); ``5/15`` (a step without a range)
is not crontab. When neither day field starts with ``*`` a day matches if either does
(Vixie's rule); otherwise both must.

This module only knows wall-clock times: which local minutes match. Turning them into
instants across daylight-saving changes is automation/wallclock.py's job.

Why not a library: cronsim 2.8 (Debian cron's rules) refuses ``5-0`` and ``2-sun``, accepts
``5/15``, ``L`` and ``5#2``, answers "Bad day-of-week" without saying what is bad, and fires
``*`` lines twice in the repeated autumn hour; APScheduler's own cron parser counts weekdays
from Monday and drops steps after month names.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# re.ASCII: full-width, superscript and other non-ASCII digits are not digits in crontab.
_ELEMENT = re.compile(
    r"(?:(?P<star>\*)|(?P<low>[0-9]+|[a-z]+)(?:-(?P<high>[0-9]+|[a-z]+))?)"
    r"(?:/(?P<step>[0-9]+))?",
    re.ASCII | re.IGNORECASE,
)
_SEARCH_YEARS = 400  # the Gregorian calendar repeats every 400 years


class CronError(ValueError):
    """A crontab line that crontab would refuse; the message names the field and the fault."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day of week", 0, 7, _DAYS),
)


@dataclass(frozen=True)
class CronLine:
    """The values each field allows; weekdays count 0 = Sunday to 6 = Saturday."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    either_day: bool  # neither day field starts with '*': a day matches if either does

    def matches_day(self, day: date) -> bool:
        """Whether the line fires on this local date (at its hours and minutes)."""
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = (day.weekday() + 1) % 7 in self.weekdays
        return by_day or by_weekday if self.either_day else by_day and by_weekday

    def walls_from(self, start: datetime) -> Iterator[datetime]:
        """The matching local wall-clock minutes at or after naive ``start``, in order.

        Ends after 400 years without a match (a line such as ``0 0 31 2 *`` never fires).
        """
        day, first = start.date(), True
        end = day.replace(year=min(day.year + _SEARCH_YEARS, 9999), month=1, day=1)
        while day < end:
            if day.month not in self.months:
                first = False
                day = _next_month(day)
                continue
            if self.matches_day(day):
                for hour in self.hours:
                    if first and hour < start.hour:
                        continue
                    for minute in self.minutes:
                        if first and hour == start.hour and minute < start.minute:
                            continue
                        yield datetime(day.year, day.month, day.day, hour, minute)  # noqa: DTZ001
            first = False
            day += timedelta(days=1)


def _next_month(day: date) -> date:
    if day.month == 12:
        return date(day.year + 1, 1, 1)
    return date(day.year, day.month + 1, 1)


def parse_crontab(line: str) -> CronLine:
    """Read a 5-field crontab line; CronError names the field and what is wrong with it."""
    fields = line.split()
    if len(fields) != 5:
        raise CronError(f"a cron line has 5 fields, this one has {len(fields)}")
    minute, hour, day, month, weekday = (
        _parse_field(text, field) for text, field in zip(fields, _FIELDS, strict=True)
    )
    parsed = CronLine(
        minutes=tuple(sorted(minute)),
        hours=tuple(sorted(hour)),
        days=frozenset(day),
        months=frozenset(month),
        weekdays=frozenset(value % 7 for value in weekday),
        either_day=not fields[2].startswith("*") and not fields[4].startswith("*"),
    )
    if not _some_date_exists(parsed):
        raise CronError("no month has that day, so it never fires (no such date)")
    return parsed


def _parse_field(text: str, field: _Field) -> set[int]:
    values: set[int] = set()
    for element in text.split(","):
        values.update(_parse_element(element, field))
    return values


def _parse_element(element: str, field: _Field) -> range:
    where = f"{field.name} {element!r}" if element else f"{field.name}: an empty list item"
    match = _ELEMENT.fullmatch(element)
    if match is None and (odd := foreign_digit(element)):
        raise CronError(f"{where}: {odd!r} is not a digit (only 0-9 are)")
    if match is None:
        raise CronError(
            f"{where} is not crontab: use a number{' or a name' if field.names else ''}, "
            f"a range N-M, '*', and optionally /STEP after a range or '*'"
        )
    step = int(match["step"]) if match["step"] is not None else 1
    if step < 1:
        raise CronError(f"{where} is not a valid range: a step must be at least 1")
    if match["star"]:
        return range(field.low, field.high + 1, step)
    low = _value(match["low"], field, where)
    if match["high"] is None:
        if match["step"] is not None:
            raise CronError(
                f"{where}: a step needs a range or '*' "
                f"(write {match['low']}-{field.high}/{step} or */{step})"
            )
        return range(low, low + 1)
    high = _value(match["high"], field, where)
    if field.names == _DAYS and high == 0 and low > 0:
        high = 7  # crontab: a weekday range may end on Sunday, written 0
    if low > high:
        raise CronError(f"{where} is not a valid range: it runs backwards ({low} is after {high})")
    return range(low, high + 1, step)


def foreign_digit(text: str) -> str | None:
    """The first character Python reads as a number but crontab does not (full-width...)."""
    return next((char for char in text if char.isnumeric() and not char.isascii()), None)


def _value(token: str, field: _Field, where: str) -> int:
    if token.isdigit():  # ASCII only: the pattern admits no other digits
        value = int(token)
        if not field.low <= value <= field.high:
            raise CronError(f"{where}: {value} is not between {field.low} and {field.high}")
        return value
    lowered = token.lower()
    if lowered in field.names:
        return field.names.index(lowered) + field.low  # jan = 1, sun = 0
    if field.names:
        noun = "month" if field.names == _MONTHS else "day"
        raise CronError(
            f"{where}: {token!r} is not a number or a {noun} name "
            f"({', '.join(field.names[:3])}, ...)"
        )
    raise CronError(f"{where}: {token!r} is not a number")


def _some_date_exists(line: CronLine) -> bool:
    """Whether any calendar date can match; a leap year has every day a month can have."""
    if line.either_day and line.weekdays:
        return True  # every month has every weekday
    longest = {month: calendar.monthrange(2028, month)[1] for month in line.months}
    return any(day <= longest[month] for month in line.months for day in line.days)

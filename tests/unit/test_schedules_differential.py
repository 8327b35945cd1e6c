"""The evaluator against a reference written here from crontab(5) and the README's DST rule.

The reference shares no code with automation/: random lines are built from parts whose
allowed values the generator knows, so it needs no parser; it walks local days and minutes
by brute force; and it maps a wall time to an instant by trying the zone's offsets around it
and, for a time the clocks skip, stepping minute by minute to the jump. Seeded, so a failure
names a line, a zone and a start that reproduce it.
"""

from __future__ import annotations

import calendar
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from automation.schedules import ScheduleError, parse_when

ZONES = ("UTC", "Europe/Berlin", "Europe/Moscow", "America/New_York", "Australia/Lord_Howe")
LINES = 2000
FIRES = 5
SEED = 20260329
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
HORIZON = timedelta(days=366 * 12)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Field:
    text: str
    values: frozenset[int]


def _name(rng: random.Random, value: int, names: tuple[str, ...], first: int) -> str:
    if names and rng.random() < 0.4:
        name = names[(value - first) % len(names)]
        return rng.choice((name, name.upper(), name.capitalize()))
    return str(value)


def random_field(
    rng: random.Random,
    low: int,
    high: int,
    names: tuple[str, ...] = (),
    focus: tuple[int, int] | None = None,
) -> Field:
    """One field: its text, and the values crontab(5) says it allows (7 kept for Sunday).

    Numbers and ranges are drawn from ``focus`` when given (the hours DST moves).
    """
    if rng.random() < 0.3:
        if rng.random() < 0.4:
            return Field("*", frozenset(range(low, high + 1)))
        step = rng.randint(1, high - low + 12)  # steps past the range's end are crontab too
        return Field(f"*/{step}", frozenset(range(low, high + 1, step)))
    pick_low, pick_high = focus or (low, high)
    texts, values = [], set()
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        first = rng.randint(pick_low, pick_high)
        shape = rng.random()
        if shape < 0.4:
            texts.append(_name(rng, first, names, low))
            values.add(first)
            continue
        last = rng.randint(first, pick_high)
        if names is DAYS and first > 0 and rng.random() < 0.25:
            last_text, last = rng.choice(("0", "sun", "SUN")), 7  # a weekday range to Sunday
        elif names is DAYS and last == 7:
            last_text = "7"  # 'sun' here would be 0: '0-sun' is Sunday alone
        else:
            last_text = _name(rng, last, names, low)
        # As a range's start, 'sun' is 0: '7-7' must stay in numbers.
        first_text = "7" if names is DAYS and first == 7 else _name(rng, first, names, low)
        text = f"{first_text}-{last_text}"
        step = rng.randint(2, 8) if shape > 0.75 else 1
        texts.append(f"{text}/{step}" if step > 1 else text)
        values.update(range(first, last + 1, step))
    return Field(",".join(texts), frozenset(values))


@dataclass(frozen=True)
class Line:
    """A random crontab line and what crontab(5) makes of it."""

    minute: Field
    hour: Field
    day: Field
    month: Field
    weekday: Field

    @property
    def text(self) -> str:
        parts = (self.minute, self.hour, self.day, self.month, self.weekday)
        return " ".join(part.text for part in parts)

    def day_matches(self, day: date) -> bool:
        if day.month not in self.month.values:
            return False
        by_day = day.day in self.day.values
        weekday = (day.weekday() + 1) % 7  # crontab: 0 = Sunday
        by_weekday = weekday in self.weekday.values or (weekday == 0 and 7 in self.weekday.values)
        if self.day.text.startswith("*") or self.weekday.text.startswith("*"):
            return by_day and by_weekday
        return by_day or by_weekday

    def ever_fires(self) -> bool:
        if not (self.day.text.startswith("*") or self.weekday.text.startswith("*")):
            return True
        return any(
            d <= calendar.monthrange(2028, m)[1]
            for m in self.month.values
            for d in self.day.values
        )


def random_line(rng: random.Random) -> Line:
    every_day = Field("*", frozenset(range(1, 32)))
    every_weekday = Field("*", frozenset(range(8)))
    return Line(
        minute=random_field(rng, 0, 59),
        hour=random_field(rng, 0, 23, focus=(0, 4) if rng.random() < 0.5 else None),
        day=random_field(rng, 1, 31) if rng.random() < 0.5 else every_day,
        month=random_field(rng, 1, 12, MONTHS),
        weekday=random_field(rng, 0, 7, DAYS) if rng.random() < 0.6 else every_weekday,
    )


def wall_of(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def reference_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """README: a wall time fires at its first occurrence, or when the clocks jump past it."""
    as_utc = wall.replace(tzinfo=UTC)
    offsets = {
        zone.utcoffset(wall + shift)
        for shift in (-timedelta(days=1), timedelta(), timedelta(days=1))
    }
    shown = [as_utc - offset for offset in offsets if wall_of(as_utc - offset, zone) == wall]
    if shown:
        return min(shown)
    moment = min(as_utc - offset for offset in offsets)  # before the jump
    while wall_of(moment, zone) < wall:
        moment += MINUTE
    return moment


def reference_fires(line: Line, zone: ZoneInfo, start: datetime, count: int) -> list[datetime]:
    """The first ``count`` fires at or after ``start``, by a walk over local minutes."""
    fires: list[datetime] = []
    earliest = wall_of(start, zone) - timedelta(hours=3)  # earlier walls were shown before start
    day, end = earliest.date(), (start + HORIZON).date()
    while day <= end:
        if line.day_matches(day):
            for hour in range(24):
                if hour not in line.hour.values:
                    continue
                for minute in range(60):
                    if minute not in line.minute.values:
                        continue
                    wall = datetime(day.year, day.month, day.day, hour, minute)  # noqa: DTZ001
                    if wall < earliest:
                        continue
                    fire = reference_instant(wall, zone)
                    if fire >= start and fire not in fires:
                        fires.append(fire)
                    if len(fires) == count:
                        return fires
        day += timedelta(days=1)
    return fires


def transitions(zone: ZoneInfo) -> list[datetime]:
    """Every instant in 2026-2028 at which the zone's offset changes, to the minute."""

    def offset(moment: datetime) -> timedelta | None:
        return moment.astimezone(zone).utcoffset()

    found, day = [], datetime(2026, 1, 1, tzinfo=UTC)
    while day.year < 2029:
        if offset(day) != offset(day + timedelta(days=1)):  # changes are months apart
            jump = day
            for step in (timedelta(hours=1), MINUTE):
                while offset(jump + step) == offset(day):
                    jump += step
            found.append(jump + MINUTE)
        day += timedelta(days=1)
    return found


def random_start(rng: random.Random, jumps: list[datetime]) -> datetime:
    if jumps and rng.random() < 0.6:  # most starts just before a change: that is where bugs are
        return rng.choice(jumps) - timedelta(seconds=rng.randint(0, 3 * 86_400))
    first = datetime(2026, 1, 1, tzinfo=UTC)
    return first + timedelta(seconds=rng.randint(0, 3 * 365 * 86_400))


def test_the_evaluator_agrees_with_crontab_on_random_lines_in_five_zones() -> None:
    rng = random.Random(SEED)
    zones = {name: ZoneInfo(name) for name in ZONES}
    jumps = {name: transitions(zone) for name, zone in zones.items()}
    began, compared, disagreements = time.monotonic(), 0, []
    for _ in range(LINES):
        line = random_line(rng)
        for name, zone in zones.items():
            try:
                when = parse_when(line.text, name)
            except ScheduleError as exc:
                assert not line.ever_fires(), (line.text, str(exc))
                continue
            assert line.ever_fires(), line.text
            start = random_start(rng, jumps[name])
            expected = reference_fires(line, zone, start, FIRES)
            got = [f for f in when.next_fires(FIRES, after=start) if f <= start + HORIZON]
            compared += 1
            if [f.astimezone(UTC) for f in got] != expected:
                disagreements.append((line.text, name, start.isoformat(), got, expected))
    seconds = time.monotonic() - began
    print(f"{compared} line-zone pairs x {FIRES} fires compared in {seconds:.1f}s")
    assert compared >= LINES * len(ZONES) * 0.9
    assert disagreements == [], disagreements[:5]

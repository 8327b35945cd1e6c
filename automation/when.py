"""The one schedule evaluator: when an expression fires, and the APScheduler trigger that asks it.

Expressions: ``daily HH:MM`` (the cron line ``MM HH * * *``), ``weekdays HH:MM``
(``MM HH * * 1-5``), a 5-field cron line (automation/crontab.py), all fired by wall clock
under automation/wallclock.py's daylight-saving rule; and ``every N seconds|minutes|hours``,
fired by elapsed time: every N units of real time from the schedule's start, whatever the
clocks do (so ``every 1 hours`` fires 24 times on a 23- or 25-hour day).

APScheduler runs the jobs, but never computes a fire time itself: ``WhenTrigger`` hands every
question to ``When.next_after``, so what the scheduler fires, what ``schedules list`` shows
and what catch-up counts are the same answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from automation.crontab import CronLine, parse_crontab
from automation.wallclock import next_cron_fire

# re.ASCII: only 0-9 are digits (a full-width or superscript digit is not a schedule's).
CLOCK = re.compile(r"^(daily|weekdays)\s+([01]?\d|2[0-3]):([0-5]\d)$", re.IGNORECASE | re.ASCII)
EVERY = re.compile(
    r"^every\s+(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)$",
    re.IGNORECASE | re.ASCII,
)
UNITS = {"s": "seconds", "m": "minutes", "h": "hours"}
_TICK = timedelta(microseconds=1)


def interval_of(match: re.Match[str]) -> timedelta:
    """The period an ``every N unit`` match names."""
    return timedelta(**{UNITS[match.group(2)[0].lower()]: int(match.group(1))})


def clock_line(match: re.Match[str]) -> str:
    """The cron line a ``daily``/``weekdays HH:MM`` match means."""
    days = "1-5" if match.group(1).lower() == "weekdays" else "*"
    return f"{int(match.group(3))} {int(match.group(2))} * * {days}"


@dataclass(frozen=True)
class When:
    """A parsed expression in its zone."""

    expression: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone."""
        return ZoneInfo(self.timezone)

    @cached_property
    def period(self) -> timedelta | None:
        """For ``every N ...``: the elapsed time between fires; None for clock expressions."""
        match = EVERY.match(self.expression.strip())
        return interval_of(match) if match else None

    @property
    def is_interval(self) -> bool:
        """'every N ...': fires are counted in elapsed time, not on the clock."""
        return self.period is not None

    @cached_property
    def line(self) -> CronLine:
        """The crontab line of a clock expression (CronError if it is not one)."""
        text = self.expression.strip()
        match = CLOCK.match(text)
        return parse_crontab(clock_line(match) if match else text)

    def next_after(self, after: datetime, anchor: datetime | None = None) -> datetime | None:
        """The first fire strictly after ``after``, in the schedule's zone, or None.

        Intervals fire at ``anchor + k * period`` (k >= 0; ``anchor`` defaults to ``after``).
        """
        after = after.astimezone(UTC)
        if self.period is not None:
            start = (anchor or after).astimezone(UTC)
            steps = 0 if after < start else (after - start) // self.period + 1
            return (start + steps * self.period).astimezone(self.zone)
        fire = next_cron_fire(self.line, self.zone, after)
        return None if fire is None else fire.astimezone(self.zone)

    def trigger(self, anchor: datetime | None = None) -> BaseTrigger:
        """The APScheduler trigger; intervals count from ``anchor`` (the schedule's start)."""
        return WhenTrigger(self, anchor or datetime.now(UTC))

    def fires_between(
        self,
        after: datetime,
        until: datetime | None = None,
        count: int | None = None,
        anchor: datetime | None = None,
    ) -> list[datetime]:
        """Fire times after ``after`` (up to ``until`` or ``count`` of them; 10,000 at most)."""
        anchor = anchor or after
        until_utc = until.astimezone(UTC) if until is not None else None
        fires: list[datetime] = []
        cursor = after
        while len(fires) < (10_000 if count is None else min(count, 10_000)):
            fire = self.next_after(cursor, anchor)
            if fire is None or (until_utc is not None and fire > until_utc):
                break
            fires.append(fire)
            cursor = fire
        return fires

    def latest_fire(
        self, after: datetime, now: datetime, anchor: datetime | None = None
    ) -> datetime | None:
        """The last fire time in (``after``, ``now``], in UTC, or None.

        Found by bisection on "the first fire after t", so a long gap (an every-second
        schedule paused for a month) costs a few dozen evaluations, not one per fire.
        """
        anchor = anchor or after
        now = now.astimezone(UTC)
        first = self.next_after(after, anchor)
        if first is None or first > now:
            return None
        first_utc = latest = first.astimezone(UTC)
        low, high = 0, (now - first_utc) // _TICK  # offsets from the first fire, in µs
        while low < high:
            middle = (low + high + 1) // 2
            fire = self.next_after(first_utc + (middle - 1) * _TICK, anchor)  # at or after
            if fire is not None and fire <= now:
                low, latest = middle, max(latest, fire.astimezone(UTC))
            else:
                high = middle - 1
        return latest

    def next_fires(self, count: int = 3, after: datetime | None = None) -> list[datetime]:
        """The next ``count`` fire times from ``after`` (default now) on."""
        start = after or datetime.now(UTC)
        return self.fires_between(start - _TICK, count=count, anchor=start)


class WhenTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no types
    """APScheduler's trigger for a ``When``: every fire time comes from ``When.next_after``."""

    def __init__(self, when: When, anchor: datetime) -> None:
        self.when = when
        self.anchor = anchor

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The first fire after the previous one; with none, the first at or after ``now``.

        APScheduler then applies its own misfire and coalescing rules to the answer, as it
        does with its CronTrigger (which starts from the same instants).
        """
        if previous_fire_time is not None:
            return self.when.next_after(previous_fire_time, self.anchor)
        return self.when.next_after(now - _TICK, self.anchor)

    def __str__(self) -> str:
        return f"when[{self.when.expression!r} in {self.when.timezone}]"

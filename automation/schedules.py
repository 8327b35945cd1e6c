"""Schedules: expressions checked with a clear answer, and the rows that are their only truth.

Expressions: ``daily HH:MM``, ``weekdays HH:MM``, ``every N seconds|minutes|hours`` or a
5-field cron (``"*/15 9-18 * * mon-fri"``), each in a time zone (``scheduler.timezone``
unless the schedule names one). When they fire is automation/when.py's answer; the database
keeps only the expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from automation.crontab import CronError, foreign_digit, parse_crontab
from automation.errors import FleetbotError
from automation.when import CLOCK, EVERY, UNITS, When
from storage.models import RunKind, Schedule

MAX_INTERVAL = timedelta(days=366)
MAX_PER_RUN = 20
# The Schedule columns' sizes: longer values are refused here, not by the ORM.
MAX_EXPRESSION = 128
MAX_TIMEZONE = 64
MAX_SELECTOR = 512


class ScheduleError(FleetbotError):
    """A schedule that cannot be used; the message says what is wrong."""


def format_fire(moment: datetime) -> str:
    """A fire time for people, in the schedule's zone; seconds only when they matter."""
    pattern = "%Y-%m-%d %H:%M:%S %Z" if moment.second else "%Y-%m-%d %H:%M %Z"
    return moment.strftime(pattern)


def _known_zone(name: str) -> bool:
    """Whether ZoneInfo knows the name; it raises OSError for 'America' (a directory)."""
    if len(name) > MAX_TIMEZONE:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def parse_when(expression: str, timezone: str) -> When:
    """Validate an expression and a zone; raise ScheduleError naming what is wrong."""
    text = " ".join(expression.split())
    if len(text) > MAX_EXPRESSION:
        raise ScheduleError(f"a schedule expression is at most {MAX_EXPRESSION} characters")
    if not _known_zone(timezone):
        raise ScheduleError(
            f"unknown time zone {timezone[:64]!r} (use an IANA name such as Europe/Moscow)"
        )
    if match := EVERY.match(text):
        if int(match.group(1)) < 1:
            raise ScheduleError("an interval must be at least 1 second")
        unit = timedelta(**{UNITS[match.group(2)[0].lower()]: 1})
        if int(match.group(1)) > MAX_INTERVAL // unit:
            raise ScheduleError(f"an interval can be at most {MAX_INTERVAL.days} days")
    elif not CLOCK.match(text):
        plain = re.match(r"^(daily|weekdays|every)\b", text, re.IGNORECASE)
        if plain and (odd := foreign_digit(text)):
            raise ScheduleError(f"{text[:64]!r}: {odd!r} is not a digit (only 0-9 are)")
        if re.match(r"^(daily|weekdays)\b", text, re.IGNORECASE):
            raise ScheduleError(f"{text[:64]!r}: the time must be HH:MM, e.g. 'daily 09:30'")
        if text.lower().startswith("every"):
            raise ScheduleError(
                f"{text[:64]!r}: write 'every N seconds', 'every N minutes' or 'every N hours'"
            )
        if len(text.split()) != 5:
            raise ScheduleError(
                f"{text[:64]!r} is not a schedule: use 'daily HH:MM', 'weekdays HH:MM', "
                "'every N minutes' or a 5-field cron such as '0 9 * * mon-fri'"
            )
        try:
            parse_crontab(text)
        except CronError as exc:
            raise ScheduleError(f"{text[:64]!r} is not a valid cron expression: {exc}") from None
    return When(text, timezone)


@dataclass(frozen=True)
class ScheduleView:
    """A schedule as shown to people."""

    id: int
    kind: str
    expression: str
    timezone: str
    selector: str
    enabled: bool
    params: dict[str, Any]
    chat_id: int | None
    last_fired_at: datetime | None
    next_fires: list[datetime]

    def to_json(self) -> dict[str, Any]:
        """The ``schedules list --json`` item shape."""
        return {
            "id": self.id,
            "kind": self.kind,
            "when": self.expression,
            "timezone": self.timezone,
            "selector": self.selector,
            "enabled": self.enabled,
            "params": self.params,
            "chat_id": self.chat_id,
            "last_fired_at": self.last_fired_at.isoformat() if self.last_fired_at else None,
            "next_fires": [fire.isoformat() for fire in self.next_fires],
        }


def view(schedule: Schedule, count: int = 3) -> ScheduleView:
    """The view of a row, with its next fire times when enabled (none if it cannot fire)."""
    when = When(schedule.expression, schedule.timezone)
    try:
        fires = (
            when.fires_between(datetime.now(UTC), count=count, anchor=schedule.created_at)
            if schedule.enabled
            else []
        )
    except CronError:  # stored under older rules; the scheduler warns about it
        fires = []
    return ScheduleView(
        id=schedule.id,
        kind=str(schedule.kind),
        expression=schedule.expression,
        timezone=schedule.timezone,
        selector=schedule.selector,
        enabled=schedule.enabled,
        params=dict(schedule.params),
        chat_id=schedule.chat_id,
        last_fired_at=schedule.last_fired_at,
        next_fires=fires,
    )


class ScheduleService:
    """Creates and changes schedule rows."""

    def __init__(self, default_timezone: str) -> None:
        self._timezone = default_timezone

    async def add(
        self,
        kind: str,
        expression: str,
        selector: str = "all",
        *,
        timezone: str | None = None,
        per_run: int | None = None,
        duration_s: float | None = None,
        chat_id: int | None = None,
        created_by: str | None = None,
    ) -> ScheduleView:
        """Validate and store a schedule; returns it with its next three fire times."""
        try:
            run_kind = RunKind(kind.lower())
        except ValueError:
            raise ScheduleError(f"unknown kind {kind[:32]!r}: use warmup or upload") from None
        when = parse_when(expression, timezone or self._timezone)
        if len(selector) > MAX_SELECTOR:
            raise ScheduleError(f"a selector is at most {MAX_SELECTOR} characters")
        params: dict[str, object] = {}
        if per_run is not None:
            if run_kind != RunKind.UPLOAD or not 1 <= per_run <= MAX_PER_RUN:
                raise ScheduleError(f"per_run is for uploads, from 1 to {MAX_PER_RUN}")
            params["per_run"] = per_run
        if duration_s is not None:
            if run_kind != RunKind.WARMUP or not 0 <= duration_s < float("inf"):
                raise ScheduleError("a duration is for warmups and cannot be negative")
            params["duration_s"] = duration_s
        schedule = await Schedule.create(
            kind=run_kind,
            expression=when.expression,
            timezone=when.timezone,
            selector=selector.strip() or "all",
            params=params,
            chat_id=chat_id,
            created_by=created_by,
        )
        return view(schedule)

    async def list(self) -> list[ScheduleView]:
        """Every schedule, oldest first."""
        return [view(s) for s in await Schedule.all().order_by("id")]

    async def get(self, schedule_id: int) -> Schedule:
        """The row, or an error naming the id."""
        schedule = await Schedule.get_or_none(id=schedule_id)
        if schedule is None:
            raise ScheduleError(f"there is no schedule #{schedule_id}")
        return schedule

    async def remove(self, schedule_id: int) -> None:
        """Delete a schedule (its runs stay)."""
        await (await self.get(schedule_id)).delete()

    async def set_enabled(self, schedule_id: int, enabled: bool) -> ScheduleView:
        """Pause or resume; fires due while paused are skipped, not caught up later."""
        schedule = await self.get(schedule_id)
        if enabled and not schedule.enabled:
            schedule.resumed_at = datetime.now(UTC)
        schedule.enabled = enabled
        await schedule.save(update_fields=["enabled", "resumed_at"])
        return view(schedule)

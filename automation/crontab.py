"""Standard 5-field crontab lines as APScheduler 3 triggers, with crontab's own meaning.

APScheduler 3's ``CronTrigger.from_crontab`` differs from crontab in two ways that would
silently fire on the wrong days (its docs and agronholm/apscheduler#286):

- weekday numbers: crontab counts 0 (or 7) = Sunday, 1 = Monday; APScheduler 0 = Monday, so
  ``1-5`` would mean Tuesday to Saturday. Numbers are rewritten as day names here.
- day of month *and* day of week both restricted: crontab fires when either matches,
  APScheduler only when both do. Such a line becomes an ``OrTrigger`` of the two.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def crontab_trigger(line: str, zone: ZoneInfo) -> BaseTrigger:
    """The trigger of a crontab line; ValueError says which field is wrong."""
    fields = line.split()
    if len(fields) != 5:
        raise ValueError(f"a cron line has 5 fields, this one has {len(fields)}")
    minute, hour, day, month, weekday = fields
    days = crontab_weekdays(weekday)

    def cron(day: str, day_of_week: str) -> CronTrigger:
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, timezone=zone
        )

    if not day.startswith("*") and not weekday.startswith("*"):  # crontab's own test
        return OrTrigger([cron(day, "*"), cron("*", days)])
    return cron(day, days)


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field in day names, which APScheduler reads as crontab does."""
    parts = []
    for part in field.lower().split(","):
        base, _, step_text = part.partition("/")
        if not step_text and not any(char.isdigit() for char in base):
            parts.append(part)  # '*', 'mon', 'mon-fri': the same in both
            continue
        step = _number(step_text, "step") if step_text else 1
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            first, last = base.split("-", 1)
            low, high = _weekday(first), _weekday(last)
        else:
            low = _weekday(base)
            high = 6 if step_text else low
        if step < 1 or low > high:
            raise ValueError(f"day of week {part!r} is not a valid range")
        parts.extend(dict.fromkeys(_DAYS[day % 7] for day in range(low, high + 1, step)))
    return ",".join(dict.fromkeys(parts))


def _weekday(token: str) -> int:
    if token.isdigit():
        day = int(token)
        if day > 7:
            raise ValueError(f"day of week {token} is not between 0 and 7")
        return day
    if token[:3] in _DAYS:
        return _DAYS.index(token[:3])
    raise ValueError(f"day of week {token!r} is neither a number nor a day name")


def _number(token: str, what: str) -> int:
    if not token.isdigit():
        raise ValueError(f"{what} {token!r} is not a number")
    return int(token)

"""Local wall-clock times as instants: the daylight-saving rule every clock schedule fires by.

A wall time fires at the first instant the zone's clock shows that time or a later one:

- an ordinary time has one instant, and that is it;
- a time the clocks pass twice (the repeated hour in autumn) fires at its first occurrence
  only: ``daily 02:30`` in Berlin fires at 02:30 CEST, not again at 02:30 CET;
- a time the clocks skip (spring) fires at the instant they jump, once, however many skipped
  times match: ``30 2 * * *`` in Berlin fires at 03:00 CEST on the spring day.

The rule is the same for every cron line, ``*`` in the minute or hour field included (cronie
differs there: it repeats such lines in the repeated hour and skips them in the missing one).
A line like ``0 * * * *`` therefore fires once per wall-clock hour that day shows; whoever
wants fires by elapsed time writes ``every 1 hours``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from automation.crontab import CronLine

_SECOND = timedelta(seconds=1)


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall-clock time ``moment`` shows in ``zone``."""
    return moment.astimezone(zone).replace(tzinfo=None)


def first_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the clock in ``zone`` shows ``wall`` or later."""
    # zoneinfo reads an ambiguous time with fold=0 as its first occurrence, and a skipped one
    # with the offsets from either side of the jump, which bracket the jump.
    readings = sorted({wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)})
    for reading in readings:
        if local(reading, zone) == wall:
            return reading
    before, after = readings[0], readings[-1]  # local(before) < wall <= local(after)
    while after - before > _SECOND:
        middle = before + (after - before) // 2
        middle -= timedelta(microseconds=middle.microsecond)
        if middle <= before:
            break
        if local(middle, zone) >= wall:
            after = middle
        else:
            before = middle
    return after


def next_cron_fire(line: CronLine, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The first fire of ``line`` in ``zone`` strictly after the instant ``after`` (UTC)."""
    after = after.astimezone(UTC)
    # A wall time W fires after `after` exactly when the clock has not shown W by then; the
    # clock's reading at `after` bounds the wall times already shown from below.
    start = local(after, zone).replace(second=0, microsecond=0)
    for wall in line.walls_from(start):
        instant = first_instant(wall, zone)
        if instant > after:
            return instant
    return None

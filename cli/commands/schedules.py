"""``fleetbot schedules list|add|remove|pause|resume``: recurring runs stored in the database."""

from __future__ import annotations

import argparse

from automation.schedules import ScheduleService, ScheduleView, format_fire
from bot.config import Settings
from cli.commands import SubParsers
from cli.output import print_json, print_table, say, when
from storage.db import open_database


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    """Add the schedules commands."""
    schedules = sub.add_parser("schedules", help="recurring runs", parents=[common])
    actions = schedules.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every schedule", parents=[common])
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=list_schedules)
    add = actions.add_parser(
        "add",
        help="add a schedule",
        parents=[common],
        description="WHEN is 'daily HH:MM', 'weekdays HH:MM', 'every N seconds|minutes|hours' "
        "or a 5-field cron such as '0 9 * * mon-fri' (quote it). Runs started by a schedule "
        "made here are reported to every bot admin.",
    )
    add.add_argument("kind", choices=["warmup", "upload"])
    add.add_argument("when", metavar="WHEN")
    add.add_argument("selector", nargs="?", default="all")
    add.add_argument("--tz", metavar="ZONE", help="default: scheduler.timezone")
    add.add_argument("--per-run", type=int, metavar="N", help="uploads: videos per account (1)")
    add.add_argument("--duration", type=float, metavar="SECONDS", help="warmups: length")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=add_schedule)
    for name, text in (("remove", "delete"), ("pause", "stop firing"), ("resume", "fire again")):
        action = actions.add_parser(name, help=f"{text} a schedule", parents=[common])
        action.add_argument("schedule_id", type=int, metavar="ID")
        action.set_defaults(func=change_schedule, change=name)


def describe(schedule: ScheduleView) -> str:
    """One schedule with its next fires, for people."""
    state = "" if schedule.enabled else " (paused)"
    fires = ", ".join(format_fire(fire) for fire in schedule.next_fires)
    return (
        f"#{schedule.id} {schedule.kind} '{schedule.expression}' {schedule.timezone} "
        f"{schedule.selector}{state}" + (f"; next: {fires}" if fires else "")
    )


async def list_schedules(settings: Settings, args: argparse.Namespace) -> int:
    """Every schedule."""
    async with open_database(settings.storage, settings.secret_key):
        views = await ScheduleService(settings.scheduler.timezone).list()
    if args.json:
        print_json({"schedules": [v.to_json() for v in views]})
    elif not views:
        say("no schedules")
    else:
        print_table(
            ["id", "kind", "when", "zone", "selector", "enabled", "last fired", "next"],
            [
                (
                    v.id,
                    v.kind,
                    v.expression,
                    v.timezone,
                    v.selector,
                    "yes" if v.enabled else "no",
                    when(v.last_fired_at),
                    when(v.next_fires[0]) if v.next_fires else "-",
                )
                for v in views
            ],
        )
    return 0


async def add_schedule(settings: Settings, args: argparse.Namespace) -> int:
    """Store a schedule and show its next three fires."""
    async with open_database(settings.storage, settings.secret_key):
        schedule = await ScheduleService(settings.scheduler.timezone).add(
            args.kind,
            args.when,
            args.selector,
            timezone=args.tz,
            per_run=args.per_run,
            duration_s=args.duration,
            created_by="cli",
        )
    if args.json:
        print_json(schedule.to_json())
    else:
        say(f"added {describe(schedule)}")
        say("a running `fleetbot serve` picks it up within 30 seconds")
    return 0


async def change_schedule(settings: Settings, args: argparse.Namespace) -> int:
    """Remove, pause or resume."""
    async with open_database(settings.storage, settings.secret_key):
        service = ScheduleService(settings.scheduler.timezone)
        if args.change == "remove":
            await service.remove(args.schedule_id)
            say(f"removed schedule #{args.schedule_id}")
        else:
            schedule = await service.set_enabled(args.schedule_id, args.change == "resume")
            say(describe(schedule))
    return 0

"""``fleetbot db migrate|prune``."""

from __future__ import annotations

import argparse

from automation.errors import FleetbotError
from automation.retention import prune
from bot.config import Settings
from cli.commands import SubParsers
from cli.output import say
from storage.db import describe_url, open_database


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    """Add the db commands."""
    db = sub.add_parser("db", help="database maintenance", parents=[common])
    actions = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    migrate = actions.add_parser("migrate", help="apply pending migrations", parents=[common])
    migrate.set_defaults(func=migrate_command)
    prune = actions.add_parser(
        "prune",
        help="delete screenshots and traces older than storage.artifact_retention_days",
        parents=[common],
        description="serve does this by itself once a day.",
    )
    prune.add_argument(
        "--days", type=int, metavar="N", help="keep N days instead of the configured number"
    )
    prune.set_defaults(func=prune_command)


async def migrate_command(settings: Settings, args: argparse.Namespace) -> int:
    """Open the database, which applies every pending migration."""
    async with open_database(settings.storage, settings.secret_key):
        say(f"database {describe_url(settings.storage)} is up to date")
    return 0


async def prune_command(settings: Settings, args: argparse.Namespace) -> int:
    """Delete old artifacts now."""
    if args.days is not None and args.days < 1:
        raise FleetbotError("--days must be at least 1")
    days = settings.storage.artifact_retention_days if args.days is None else args.days
    if days == 0:
        say("storage.artifact_retention_days is 0: artifacts are kept; nothing deleted")
        return 0
    async with open_database(settings.storage, settings.secret_key):
        pruned = await prune(settings.storage.data_dir, days)
    say(f"deleted {pruned.files} artifact file(s) older than {days} days")
    return 0

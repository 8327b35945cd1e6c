"""``fleetbot db migrate``."""

from __future__ import annotations

import argparse

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


async def migrate_command(settings: Settings, args: argparse.Namespace) -> int:
    """Open the database, which applies every pending migration."""
    async with open_database(settings.storage, settings.secret_key):
        say(f"database {describe_url(settings.storage)} is up to date")
    return 0

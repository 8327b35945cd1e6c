"""``fleetbot secret-key new``: print a random FLEETBOT_SECRET_KEY of full strength."""

from __future__ import annotations

import argparse

from bot.config import Settings
from cli.commands import SubParsers
from cli.output import say
from storage.crypto import new_random_key


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    """Add the secret-key commands."""
    group = sub.add_parser("secret-key", help="the encryption key", parents=[common])
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser(
        "new",
        help="print a new random key for FLEETBOT_SECRET_KEY",
        parents=[common],
        description="Print 256 random bits as text. Keep it where you keep passwords: "
        "without it the database's secrets cannot be read. It does not change the key of "
        "an existing database.",
    )
    new.set_defaults(func=new_command)


async def new_command(settings: Settings, args: argparse.Namespace) -> int:
    """Print a new key; nothing is opened or written."""
    say(new_random_key())
    return 0

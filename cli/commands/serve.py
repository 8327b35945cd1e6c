"""``fleetbot serve``: the bot, the scheduler and the runner in one process."""

from __future__ import annotations

import argparse

from bot.config import Settings
from cli.commands import SubParsers


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    """Add serve."""
    serve = sub.add_parser(
        "serve",
        help="run the Telegram bot, the scheduler and the runner",
        parents=[common],
        description="Long-polls Telegram (or bot.api_base), runs queued and scheduled runs, "
        "and reports to the chats. Needs bot.token (FLEETBOT_BOT__TOKEN) and bot.admins. "
        "SIGTERM or Ctrl-C stops it gracefully.",
    )
    serve.set_defaults(func=serve_command)


async def serve_command(settings: Settings, args: argparse.Namespace) -> int:
    """Run until stopped; 0 after a graceful stop."""
    from bot.app import serve  # noqa: PLC0415 - aiogram is loaded only by this command

    del args
    return await serve(settings)

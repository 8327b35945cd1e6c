"""The ``fleetbot`` command line: parse, load config once, run one async command, exit 0/1.

Every command accepts ``--config PATH``. Failures the user can act on (bad input, bad
config, unreachable database) print one line on stderr and exit 1; nothing else does.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from automation.errors import FleetbotError
from bot import __version__
from bot.config import ConfigError, Settings, load_settings, scrub_environment
from bot.logs import setup_logging
from cli.commands import (
    accounts,
    db,
    demo,
    runs,
    schedules,
    secret_key,
    serve,
    sites,
    videos,
    worker,
)
from cli.output import warn
from storage.crypto import SecretKeyError
from storage.db import StorageError

Command = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; each leaf sets ``func`` to its async command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="config file (default: $FLEETBOT_CONFIG or ./config.toml)",
    )
    parser = argparse.ArgumentParser(
        prog="fleetbot",
        description="Run a fleet of web accounts from Telegram or the terminal.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"fleetbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    db.register(sub, common)
    accounts.register(sub, common)
    runs.register(sub, common)
    schedules.register(sub, common)
    videos.register(sub, common)
    demo.register(sub, common)
    serve.register(sub, common)
    worker.register(sub, common)
    sites.register(sub, common)
    secret_key.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fleetbot`` console script."""
    # Everything fleetbot and its children (Playwright, Chromium) create is its user's
    # alone, whatever umask the shell had: databases, screenshots, traces, downloads.
    os.umask(0o077)
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    try:
        settings = load_settings(getattr(args, "config", None))
        scrub_environment()  # no child process inherits the key or the token
        setup_logging(settings.log.level, settings.secret_values())
        return asyncio.run(func(settings, args))
    except BrokenPipeError:  # e.g. `fleetbot runs list | head`
        return EXIT_OK
    except KeyboardInterrupt:
        warn("interrupted")
        return EXIT_INTERRUPTED
    except (ConfigError, StorageError, SecretKeyError, FleetbotError) as exc:
        warn(str(exc))
        logging.getLogger(__name__).debug("command failed", exc_info=True)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

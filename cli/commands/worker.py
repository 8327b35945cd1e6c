"""``fleetbot worker``: a runner-only process; any number per database, on any machine.

A worker claims pending items of every run from the shared database (PostgreSQL when
workers run on several machines), honours ``automation.*``, and writes every outcome,
summary, notification and question as rows: ``fleetbot serve`` sends them to Telegram
and stores the chat's answers, which the worker polls for (``automation/questions.py``).
It runs no bot and no scheduler, so it takes no lock. SIGTERM or Ctrl-C stop it like
``serve``: items in flight get ``bot.shutdown_grace_s`` to finish, the rest go back to
pending.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from automation.engine import runner_engine
from automation.questions import ChatOperator
from bot.config import Settings
from cli.commands import SubParsers
from storage.db import describe_url, open_database
from storage.health import StorageHealth

log = logging.getLogger(__name__)


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    """Add worker."""
    worker = sub.add_parser(
        "worker",
        help="run items of every run, with no bot and no scheduler",
        parents=[common],
        description="Claims pending items of every run from the database and drives them "
        "(automation.*). Start any number, on any machine sharing the database; one "
        "`fleetbot serve` sends their summaries to Telegram. SIGTERM or Ctrl-C stops it "
        "gracefully.",
    )
    worker.set_defaults(func=worker_command)


async def worker_command(settings: Settings, args: argparse.Namespace) -> int:
    """Drive items until SIGTERM/SIGINT; 0 after a graceful stop."""
    del args
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with (
            open_database(settings.storage, settings.secret_key) as db,
            runner_engine(
                config=settings.automation,
                sites=settings.sites,
                data_dir=settings.storage.data_dir,
                secrets=db.secrets,
                operator=ChatOperator(db.secrets, settings.bot.admins),
                health=StorageHealth(),
            ) as runner,
        ):
            log.info("worker %s on %s", runner.owner, describe_url(settings.storage))
            serving = asyncio.create_task(runner.serve(), name="runner")
            stopping = asyncio.create_task(stop.wait(), name="stop-signal")
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            log.info("worker stopping")
            for task in (serving, stopping):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await runner.stop(settings.bot.shutdown_grace_s)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return 0

"""Build the browser pool and runner for a foreground command, and drive one run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from automation.engine import runner_engine
from automation.reporting import Operator, Reporter
from automation.runner import Runner
from automation.runs import RunService
from automation.summary import RunSummary
from bot.config import Settings
from cli.output import warn
from cli.terminal import TerminalOperator, TerminalReporter
from storage.db import Database

RunDriver = Callable[[int], Awaitable[RunSummary]]


@asynccontextmanager
async def engine(
    settings: Settings, db: Database, reporter: Reporter, operator: Operator
) -> AsyncIterator[Runner]:
    """A browser pool and a runner for this config, closed in reverse order."""
    async with runner_engine(
        config=settings.automation,
        sites=settings.sites,
        data_dir=settings.storage.data_dir,
        secrets=db.secrets,
        reporter=reporter,
        operator=operator,
    ) as runner:
        yield runner


@asynccontextmanager
async def foreground(
    settings: Settings, db: Database, first_run: int | None = None
) -> AsyncIterator[RunDriver]:
    """One browser and runner for a command; yields a function that drives a run to its end.

    Ctrl-C puts running items back to pending and marks the run interrupted, so
    ``fleetbot runs resume ID`` can finish it, even while the browser is still starting:
    a run left ``queued`` would be taken by whichever ``serve`` or worker looked first.
    """
    runs = RunService(settings.storage.data_dir)
    current: list[int] = [first_run] if first_run is not None else []
    with TerminalReporter() as reporter:
        try:
            async with engine(settings, db, reporter, TerminalOperator()) as runner:

                async def drive(run_id: int) -> RunSummary:
                    current[:] = [run_id]
                    await runner.run_until_settled(run_id)
                    return await runs.summary(run_id)

                yield drive
        except asyncio.CancelledError:
            for run_id in current:
                await asyncio.shield(runs.mark_interrupted(run_id))
                warn(f"run #{run_id} interrupted; finish it with `fleetbot runs resume {run_id}`")
            raise


async def drive_run(settings: Settings, db: Database, run_id: int) -> RunSummary:
    """Drive one run in the foreground with terminal progress."""
    async with foreground(settings, db, run_id) as drive:
        return await drive(run_id)

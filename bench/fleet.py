"""fleetbot's side of the benchmark: one warmup run through the real Runner, measured.

The runner and browser pool are built by ``automation.engine.runner_engine``, the factory
``fleetbot run`` builds them with, over a fresh data dir and database for every setting,
launching the binary named by the ``AutomationConfig`` it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from pathlib import Path
from typing import Any, Literal

from automation.accounts import AccountRow, AccountService
from automation.config import AutomationConfig, DemoSiteConfig, SitesConfig
from automation.engine import runner_engine
from automation.reporting import NullReporter
from automation.runner import Runner
from automation.runs import Requester, RunService
from bench.measure import measured
from storage.config import StorageConfig
from storage.db import Database
from storage.models import ItemStatus, Trigger

Concurrency = int | Literal["auto"]
AUTO_MAX = 32  # the ceiling "auto" may reach in the benchmark (the config default is 8)
LEVEL_EVERY_S = 0.5


async def run_fleetbot(
    site_url: str,
    users: list[str],
    concurrency: Concurrency,
    duration_s: float,
    data_dir: Path,
    *,
    config: AutomationConfig,
) -> dict[str, Any]:
    """Warm every user once through the runner at this concurrency; the figures as a dict."""
    automation = config.model_copy(
        update={"concurrency": concurrency, "max_concurrency": AUTO_MAX}
    )
    async with Database(StorageConfig(data_dir=data_dir)) as db:
        await AccountService(db.secrets).import_rows(
            [AccountRow(u, "demo", u, f"pw-{u}") for u in users]
        )
        runs = RunService(data_dir)
        run = await runs.create_warmup(
            "all", duration_s=duration_s, requester=Requester(Trigger.CLI)
        )
        levels: list[int] = []
        async with (
            measured(len(users)) as figures,
            runner_engine(
                config=automation,
                sites=SitesConfig(demo=DemoSiteConfig(base_url=site_url)),
                data_dir=data_dir,
                secrets=db.secrets,
                reporter=NullReporter(),
            ) as runner,
        ):
            watcher = asyncio.create_task(_watch_level(runner, levels))
            try:
                await runner.run_until_settled(run.id)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
        summary = await runs.summary(run.id)
    result: dict[str, Any] = {
        "concurrency": concurrency,
        "executable": automation.executable_path,
        **figures.summary(),
    }
    result["succeeded"] = summary.counts[ItemStatus.SUCCEEDED]
    if concurrency == "auto" and levels:
        result["auto_levels"] = sorted(set(levels))
        result["auto_level_mean"] = round(statistics.fmean(levels), 1)
    return result


async def _watch_level(runner: Runner, levels: list[int]) -> None:
    """Record the runner's level every half second (what "auto" chose over time)."""
    while True:
        levels.append(runner.concurrency)
        await asyncio.sleep(LEVEL_EVERY_S)

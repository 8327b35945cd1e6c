"""The one factory for a runner, and for a browser pool with a runner on top.

``fleetbot serve`` builds its pool early in its exit stack and calls ``make_runner``; the
foreground CLI commands, the benchmarks and the tests call ``runner_engine``, which opens a
pool and a runner and closes them in reverse. Both wire a runner the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from automation.browser import BrowserPool
from automation.config import AutomationConfig, SitesConfig
from automation.reporting import Operator, Reporter
from automation.runner import Runner
from automation.runs import RunService
from storage.crypto import SecretBox
from storage.health import StorageHealth


def make_runner(
    *,
    config: AutomationConfig,
    sites: SitesConfig,
    data_dir: Path,
    secrets: SecretBox,
    pool: BrowserPool,
    reporter: Reporter | None = None,
    operator: Operator | None = None,
    health: StorageHealth | None = None,
) -> Runner:
    """A runner over ``pool`` for the data dir's runs and artifacts (not started yet)."""
    return Runner(
        config=config,
        sites=sites,
        pool=pool,
        secrets=secrets,
        runs=RunService(data_dir),
        artifacts_dir=data_dir / "artifacts",
        reporter=reporter,
        operator=operator,
        health=health,
    )


@asynccontextmanager
async def runner_engine(
    *,
    config: AutomationConfig,
    sites: SitesConfig,
    data_dir: Path,
    secrets: SecretBox,
    reporter: Reporter | None = None,
    operator: Operator | None = None,
    health: StorageHealth | None = None,
) -> AsyncIterator[Runner]:
    """A started browser pool and runner, closed in reverse order."""
    async with (
        BrowserPool(config) as pool,
        make_runner(
            config=config,
            sites=sites,
            data_dir=data_dir,
            secrets=secrets,
            pool=pool,
            reporter=reporter,
            operator=operator,
            health=health,
        ) as runner,
    ):
        yield runner

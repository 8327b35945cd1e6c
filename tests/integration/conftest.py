"""Fixtures for tests that drive a real Chromium against the demo site."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from automation.accounts import AccountRow, AccountService
from automation.browser import BrowserPool
from automation.chromium import find_chromium, launch_args
from automation.config import AutomationConfig, DemoSiteConfig, SitesConfig
from automation.engine import make_runner
from automation.reporting import Operator, Reporter
from automation.runner import Runner
from automation.runs import RunService
from automation.sites.demo.server import DemoSite
from automation.sites.demo.state import DemoSiteOptions
from bot.config import Settings
from storage.db import Database
from tests.helpers import FLEETBOT, cli_env

FAST = {
    "backoff_base_s": 0.1,
    "backoff_max_s": 0.5,
    "navigation_timeout_s": 15,
    "item_timeout_s": 90,
    "lease_s": 15,
}


@dataclass
class Engine:
    """Everything a runner test needs, built like the real composition root builds it."""

    settings: Settings
    db: Database
    runs: RunService
    site_url: str

    def automation(self, **changes: Any) -> AutomationConfig:
        return self.settings.automation.model_copy(update=changes)

    async def add_demo_accounts(self, count: int, **passwords: str) -> None:
        await AccountService(self.db.secrets).import_rows(
            [
                AccountRow(
                    f"demo{k}", "demo", f"demo{k}", passwords.get(f"demo{k}", f"pw-demo{k}")
                )
                for k in range(1, count + 1)
            ]
        )

    def runner(
        self,
        pool: BrowserPool,
        config: AutomationConfig,
        reporter: Reporter | None = None,
        operator: Operator | None = None,
    ) -> Runner:
        """A runner built by the factory the composition root uses."""
        return make_runner(
            config=config,
            sites=self.settings.sites,
            data_dir=self.settings.storage.data_dir,
            secrets=self.db.secrets,
            pool=pool,
            reporter=reporter,
            operator=operator,
        )

    async def drive(
        self,
        run_id: int,
        *,
        reporter: Reporter | None = None,
        operator: Operator | None = None,
        on_pool: Callable[[BrowserPool], Awaitable[None]] | None = None,
        **changes: Any,
    ) -> BrowserPool:
        config = self.automation(**changes)
        async with (
            BrowserPool(config) as pool,
            self.runner(pool, config, reporter, operator) as runner,
        ):
            if on_pool is None:
                await runner.run_until_settled(run_id)
            else:
                async with asyncio.TaskGroup() as group:
                    group.create_task(runner.run_until_settled(run_id))
                    group.create_task(on_pool(pool))
        return pool


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium per test module, found and launched as fleetbot itself launches it."""
    config = AutomationConfig()
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=find_chromium(config, pw.chromium.executable_path),
            args=launch_args(config),
        )
        yield chromium
        await chromium.close()


@pytest.fixture
def site_options() -> DemoSiteOptions:
    return DemoSiteOptions(users=12, processing_s=0.3, seed=7)


@pytest.fixture
async def demo_site(site_options: DemoSiteOptions) -> AsyncIterator[DemoSite]:
    async with DemoSite(site_options) as site:
        yield site


@asynccontextmanager
async def open_engine(
    settings: Settings, sites: SitesConfig, site_url: str, **automation: Any
) -> AsyncIterator[Engine]:
    """An Engine on the test's database for one site, with FAST (and ``automation``) timings."""
    engine_settings = settings.model_copy(
        update={
            "automation": settings.automation.model_copy(update=FAST | automation),
            "sites": sites,
        }
    )
    async with Database(engine_settings.storage) as db:
        runs = RunService(engine_settings.storage.data_dir)
        yield Engine(engine_settings, db, runs, site_url)


@pytest.fixture
async def engine(settings: Settings, demo_site: DemoSite) -> AsyncIterator[Engine]:
    sites = SitesConfig(demo=DemoSiteConfig(base_url=demo_site.url))
    async with open_engine(settings, sites, demo_site.url) as engine:
        yield engine


async def posts_of(site_url: str, user: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{site_url}/api/posts", params={"user": user}) as response,
    ):
        response.raise_for_status()
        body = await response.json()
    return list(body["posts"])


@dataclass
class SiteProcess:
    """The demo site in its own process (survives killing the runner process)."""

    url: str
    proc: asyncio.subprocess.Process


@pytest.fixture
async def site_process(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[SiteProcess]]]:
    started: list[asyncio.subprocess.Process] = []

    async def start(*args: str) -> SiteProcess:
        proc = await asyncio.create_subprocess_exec(
            *FLEETBOT,
            "demo-site",
            "--port",
            "0",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=cli_env(tmp_path / "site-data"),
        )
        started.append(proc)
        assert proc.stdout is not None
        async with asyncio.timeout(30):
            line = (await proc.stdout.readline()).decode()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, f"demo-site printed {line!r}"
        return SiteProcess(match.group(0), proc)

    yield start
    for proc in started:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()

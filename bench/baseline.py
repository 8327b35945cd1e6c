"""The pattern fleetbot replaces, kept only to compare against.

Accounts one after another, a new browser launched for each, results held in memory and
written to the database only after the whole batch — the old Django app's shape, on the
same demo-adapter steps (async here, since sync Playwright inside a loop is not an option).
It launches the binary the fleetbot rows launch (``config.executable_path``, else what
``find_chromium`` picks, as Playwright's own default would pick the headless shell), so
the comparison is of the two patterns, not of two browsers.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import async_playwright

from automation.chromium import find_chromium, launch_args
from automation.config import AutomationConfig
from automation.sites.base import Credentials, ItemContext
from automation.sites.demo.adapter import DemoAdapter
from storage.config import StorageConfig
from storage.db import Database
from storage.models import Account, ItemStatus, Run, RunItem, RunKind, RunStatus, Trigger


async def _no_human(_prompt: str) -> str:
    raise RuntimeError("the baseline cannot ask a human")


async def run_baseline(
    site_url: str, users: list[str], duration_s: float, data_dir: Path, config: AutomationConfig
) -> list[str]:
    """Warm every user sequentially; returns the outcomes, stored at the very end."""
    adapter = DemoAdapter(site_url)
    outcomes: list[str] = []  # in memory until the batch ends: lost if the process dies
    async with async_playwright() as playwright:
        executable = find_chromium(config, playwright.chromium.executable_path)
        for user in users:
            browser = await playwright.chromium.launch(
                executable_path=executable, args=launch_args(config)
            )
            try:
                context = await browser.new_context(viewport={"width": 1280, "height": 900})
                page = await context.new_page()  # the same viewport as fleetbot's contexts
                ctx = ItemContext(page, user, Credentials(user, f"pw-{user}"), _no_human)
                if not await adapter.is_logged_in(ctx):
                    await adapter.log_in(ctx)
                await adapter.warmup(ctx, duration_s)
                outcomes.append(ItemStatus.SUCCEEDED)
            except Exception:
                outcomes.append(ItemStatus.FAILED)
            finally:
                await browser.close()
    async with Database(StorageConfig(data_dir=data_dir)):
        run = await Run.create(
            kind=RunKind.WARMUP, trigger=Trigger.CLI, status=RunStatus.SUCCEEDED
        )
        for user, outcome in zip(users, outcomes, strict=True):
            account = await Account.create(label=user, site="demo", username=user)
            await RunItem.create(run=run, account=account, status=outcome)
    return outcomes

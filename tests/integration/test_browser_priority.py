"""Launched Chromium yields the CPU to the event loop: niceness and Linux's SCHED_IDLE."""

from __future__ import annotations

import asyncio
import os
import sys

import psutil
import pytest

from automation.browser import PRIORITY_EVERY_S, BrowserPool
from automation.chromium import is_browser_process
from automation.config import AutomationConfig

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SCHED_IDLE is Linux's")

# Chromium sets its GPU and network processes' niceness itself (the GPU's to -8), which
# is why SCHED_IDLE is there; the browser, zygotes and renderers keep ours.
SETS_ITS_OWN = {"--type=gpu-process", "--type=utility"}


def children() -> tuple[list[psutil.Process], list[psutil.Process]]:
    """(Chromium processes, Playwright driver processes) under this one."""
    browsers, drivers = [], []
    for proc in psutil.Process().children(recursive=True):
        if is_browser_process(proc.name()):
            browsers.append(proc)
        elif "run-driver" in proc.cmdline():
            drivers.append(proc)
    return browsers, drivers


def policies(procs: list[psutil.Process]) -> set[int]:
    """The scheduling classes of every thread of procs."""
    return {os.sched_getscheduler(thread.id) for proc in procs for thread in proc.threads()}


@pytest.mark.parametrize("idle", [True, False])
async def test_chromium_and_the_driver_yield_the_cpu(idle: bool) -> None:
    async with (
        BrowserPool(AutomationConfig(browser_nice=12, browser_idle=idle)) as pool,
        pool.context() as ctx,
    ):
        page = await ctx.new_page()  # a renderer forked after the launch inherits the class
        await page.goto("data:text/html,<p>hi</p>")
        browsers, drivers = children()
        kinds = {arg for proc in browsers for arg in proc.cmdline() if arg.startswith("--type=")}
        assert "--type=renderer" in kinds
        assert drivers, "no Playwright driver found under this process"
        wanted = {os.SCHED_IDLE} if idle else {os.SCHED_OTHER}
        # Chromium starts threads whenever it likes; the pool checks again every few seconds.
        for _ in range(int(PRIORITY_EVERY_S * 6 / 0.2)):
            if (seen := await asyncio.to_thread(policies, children()[0])) == wanted:
                break
            await asyncio.sleep(0.2)
        assert seen == wanted
        ours = [p for p in children()[0] if not SETS_ITS_OWN & set(p.cmdline())]
        assert ours and all(proc.nice() >= 12 for proc in ours)
        assert all(proc.nice() >= 12 for proc in drivers)
        assert policies(drivers) == {os.SCHED_OTHER}

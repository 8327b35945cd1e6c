"""One warmup through every fault a site and a browser throw at once.

The demo site answers 30 % of requests with a 500 or a dropped connection and sleeps
800 ms before every answer; Chromium is killed twice and the site itself is restarted
(connection refused while it is down, every session gone after). One account has a wrong
password. The run still completes: the faults are retried, the wrong password is not, and
every attempt but an item's last is a logged retry of a transient error.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from tests.chaos.observe import FINAL, items, report, settled
from tests.e2e.conftest import eventually
from tests.helpers import FLEETBOT, chromium_under, cli_env, demo_accounts_csv, fleetbot_async
from tests.integration.conftest import SiteProcess

ACCOUNTS = 10
WRONG = "demo10"  # stored with a wrong password: a permanent failure
TRANSIENT = {"TransientSiteError", "BrowserCrashed", "ItemTimeout"}
RETRIED = re.compile(r"item \d+ \((\w+)\) attempt (\d+): (\w+): .*\(will retry\)$", re.MULTILINE)
SITE_ARGS = ("--users", str(ACCOUNTS), "--seed", "9", "--latency-ms", "800", "--error-rate", "0.3")


def browser_of(pid: int) -> psutil.Process | None:
    """The Chromium browser process (not a renderer or helper) under a pid."""
    return next(iter(chromium_under(pid, browsers_only=True)), None)


async def test_latency_errors_crashes_and_a_site_restart_together(
    tmp_path: Path, site_process: Callable[..., Awaitable[SiteProcess]]
) -> None:
    site = await site_process(*SITE_ARGS)
    port = urlsplit(site.url).port
    data_dir = tmp_path / "data"
    env = cli_env(
        data_dir,
        FLEETBOT_SITES__DEMO__BASE_URL=site.url,
        FLEETBOT_AUTOMATION__CONCURRENCY="4",
        FLEETBOT_AUTOMATION__MAX_ATTEMPTS="12",
        FLEETBOT_AUTOMATION__BACKOFF_BASE_S="0.2",
        FLEETBOT_AUTOMATION__BACKOFF_MAX_S="1",
        FLEETBOT_AUTOMATION__WARMUP_DURATION_S="0.5",
        FLEETBOT_LOG__LEVEL="INFO",
    )
    csv = tmp_path / "accounts.csv"
    csv.write_text(demo_accounts_csv(ACCOUNTS, {WRONG: "not-it"}))
    code, _, err = await fleetbot_async("accounts", "import", str(csv), env=env)
    assert code == 0, err
    log_file = tmp_path / "run.log"
    with log_file.open("wb") as log:
        runner = await asyncio.create_subprocess_exec(
            *FLEETBOT,
            "run",
            "warmup",
            "all",
            "--json",
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env=env,
        )
    assert runner.stdout is not None
    output = asyncio.create_task(runner.stdout.read())
    started = time.monotonic()

    def at_least(count: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return await settled(data_dir, 1) >= count and browser_of(runner.pid) is not None

        return check

    browsers_killed = 0
    for count, fault in ((2, "chromium"), (4, "site"), (6, "chromium")):
        await eventually(at_least(count), within=240)
        if fault == "chromium":
            browser = browser_of(runner.pid)
            assert browser is not None
            browser.kill()
            browsers_killed += 1
        else:
            site.proc.kill()
            await site.proc.wait()
            site = await site_process("--port", str(port), *SITE_ARGS)  # the last --port wins
    async with asyncio.timeout(300):
        code = await runner.wait()
    elapsed = time.monotonic() - started
    stderr = await asyncio.to_thread(log_file.read_text)
    assert code == 0, stderr[-3000:]  # a run that finished exits 0, failed items or not
    summary = json.loads(await output)
    final = await items(data_dir, 1)

    by_label = {item["account"]: item for item in summary["items"]}
    assert summary["status"] == "partial"
    assert len(final) == ACCOUNTS
    assert all(row["status"] in FINAL for row in final.values())
    assert {label: item["status"] for label, item in by_label.items() if label != WRONG} == {
        f"demo{k}": "succeeded" for k in range(1, ACCOUNTS)
    }
    assert by_label[WRONG]["status"] == "failed"
    assert by_label[WRONG]["error"].startswith("LoginRequired"), by_label[WRONG]
    retried = RETRIED.findall(stderr)
    retried_classes = Counter(error for _, _, error in retried)
    assert retried, "no fault was ever retried: the faults did not happen"
    assert set(retried_classes) <= TRANSIENT, retried_classes
    assert "BrowserCrashed" in retried_classes
    retries = Counter(label for label, _, _ in retried)
    for label, item in by_label.items():  # every attempt but the last was a logged retry
        assert item["attempts"] == retries[label] + 1, (label, item["attempts"], retries[label])
    report(
        "site-faults",
        items=ACCOUNTS,
        chromium_kills=browsers_killed,
        site_restarts=1,
        retried_attempts=len(retried),
        retried_by_class=dict(retried_classes),
        permanent_failures_retried=0,
        succeeded=sum(1 for item in summary["items"] if item["status"] == "succeeded"),
        lost=sum(1 for row in final.values() if row["status"] not in FINAL),
        elapsed_s=round(elapsed, 1),
    )

"""``fleetbot worker`` processes sharing one database, and Ctrl-C of a foreground run."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from automation.browser import BrowserPool
from automation.runs import Requester, RunService
from storage.config import StorageConfig
from storage.db import Database
from storage.models import ItemStatus, Notification, Run, RunItem, RunStatus, Trigger
from tests.helpers import cli_env
from tests.integration.conftest import Engine, SiteProcess
from tests.integration.test_cli_runs import run_cli, show

ACCOUNTS = 6
ADMIN_CHAT = 4242


async def queued_warmup(data_dir: Path, site_url: str, tmp_path: Path) -> int:
    """Import demo accounts through the CLI and queue a warmup nobody drives yet."""
    csv = tmp_path / "accounts.csv"
    csv.write_text(
        "label,site,username,password,proxy,tags\n"
        + "".join(f"demo{k},demo,demo{k},pw-demo{k},,\n" for k in range(1, ACCOUNTS + 1))
    )
    code, _out, err = await run_cli("accounts", "import", str(csv), data_dir=data_dir)
    assert code == 0, err
    async with Database(StorageConfig(data_dir=data_dir)):
        run = await RunService(data_dir).create_warmup(
            "all", duration_s=1, requester=Requester(Trigger.CLI)
        )
    return run.id


async def live_runner_lines(run_id: int, data_dir: Path) -> list[str]:
    code, out, err = await run_cli("runs", "show", str(run_id), data_dir=data_dir)
    assert code == 0, err
    line = next(ln for ln in out.splitlines() if ln.startswith("live runners:"))
    return re.findall(r"runner \d+@[^:]+: concurrency \d+[^;]*", line)


async def test_two_workers_drive_a_queued_run_and_list_themselves(
    tmp_path: Path, site_process: Callable[..., Awaitable[SiteProcess]]
) -> None:
    site = await site_process("--users", str(ACCOUNTS), "--seed", "5")
    data_dir = tmp_path / "data"
    env = {"FLEETBOT_SITES__DEMO__BASE_URL": site.url, "FLEETBOT_AUTOMATION__CONCURRENCY": "2"}
    run_id = await queued_warmup(data_dir, site.url, tmp_path)
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli",
            "worker",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=cli_env(data_dir, **env),
        )
        for _ in range(2)
    ]
    try:
        async with asyncio.timeout(120):
            while len(lines := await live_runner_lines(run_id, data_dir)) < 2:
                assert all(w.returncode is None for w in workers), "a worker exited"
        assert all("in flight, heartbeat" in line for line in lines), lines
        pids = {int(line.split()[1].split("@")[0]) for line in lines}
        assert pids == {w.pid for w in workers}

        async with asyncio.timeout(180):
            while (summary := await show(run_id, data_dir))["status"] in ("queued", "running"):
                pass
        assert summary["status"] == "succeeded"
        assert [(i["status"], i["attempts"]) for i in summary["items"]] == [
            ("succeeded", 1)
        ] * ACCOUNTS
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            codes = [await worker.wait() for worker in workers]
    assert codes == [0, 0]
    for worker in workers:
        assert worker.stderr is not None
        assert "Traceback" not in (await worker.stderr.read()).decode()
    assert await live_runner_lines(run_id, data_dir) == []  # both withdrew at stop


def default_sigint() -> None:
    """In the child, before exec: SIGINT does what it does by default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def test_ctrl_c_while_the_browser_starts_leaves_the_run_interrupted(
    tmp_path: Path, site_process: Callable[..., Awaitable[SiteProcess]]
) -> None:
    site = await site_process("--users", "2")
    data_dir = tmp_path / "data"
    env = {"FLEETBOT_SITES__DEMO__BASE_URL": site.url}
    csv = tmp_path / "accounts.csv"
    csv.write_text("label,site,username,password,proxy,tags\ndemo1,demo,demo1,pw-demo1,,\n")
    assert (await run_cli("accounts", "import", str(csv), data_dir=data_dir))[0] == 0
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "run",
        "warmup",
        "all",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        # If it ever hangs, SIGABRT makes it print where every thread was (faulthandler).
        env=cli_env(data_dir, PYTHONFAULTHANDLER="1", **env),
        # Ctrl-C as a terminal delivers it: a suite started in the background of a
        # non-interactive shell inherits SIGINT ignored, and fleetbot, like any program,
        # keeps an ignored SIGINT ignored.
        preexec_fn=default_sigint,
    )
    assert proc.stderr is not None
    async with asyncio.timeout(60):
        first = (await proc.stderr.readline()).decode()  # announced before any browser work
    run_id = int(first.split("#")[1].split(":")[0])
    proc.send_signal(signal.SIGINT)  # the browser is still starting
    try:
        async with asyncio.timeout(60):
            code = await proc.wait()
    except TimeoutError:
        proc.send_signal(signal.SIGABRT)
        async with asyncio.timeout(30):
            dump = (await proc.stderr.read()).decode()
        pytest.fail(f"fleetbot run did not stop within 60 s of Ctrl-C:\n{dump}")
    try:
        async with asyncio.timeout(60):  # children that kept stderr open end with the browser
            rest = (await proc.stderr.read()).decode()
    except TimeoutError:
        ps = await asyncio.create_subprocess_exec(
            "ps", "-eo", "pid,ppid,args", stdout=asyncio.subprocess.PIPE
        )
        listing = (await ps.communicate())[0].decode()
        browsers = [line for line in listing.splitlines() if "playwright" in line]
        pytest.fail(f"fleetbot exited {code}; its stderr stayed open: {browsers}")
    assert code == 130, rest
    assert f"fleetbot runs resume {run_id}" in rest
    assert (await show(run_id, data_dir))["status"] == "interrupted"


async def test_recovery_settles_runs_whose_last_outcome_is_stored_and_no_others(
    engine: Engine,
) -> None:
    # A runner stored the last outcome of run `done` and died before settling it; run `busy`
    # still has an open item. Recovery settles the first, with its summary, and only it.
    await engine.add_demo_accounts(2)
    requester = Requester(Trigger.CLI, chat_id=ADMIN_CHAT)
    done = await engine.runs.create_warmup("all", duration_s=1, requester=requester)
    busy = await engine.runs.create_warmup("all", duration_s=1, requester=requester)
    now = datetime.now(UTC)
    await RunItem.filter(run_id=done.id).update(status=ItemStatus.SUCCEEDED, finished_at=now)
    await RunItem.filter(run_id=busy.id, id=(await busy.items.all())[0].id).update(
        status=ItemStatus.FAILED, finished_at=now
    )
    config = engine.automation()
    runner = engine.runner(BrowserPool(config), config)  # recovery needs no browser

    await runner.recover()

    settled, open_run = await Run.get(id=done.id), await Run.get(id=busy.id)
    assert (settled.status, settled.finished_at is not None) == (RunStatus.SUCCEEDED, True)
    assert (open_run.status, open_run.finished_at) == (RunStatus.QUEUED, None)
    summaries = await Notification.filter(run_id=done.id, kind="run_summary").count()
    assert summaries == 1
    assert await Notification.filter(run_id=busy.id, kind="run_summary").count() == 0

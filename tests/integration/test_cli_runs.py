"""Runs through the real ``fleetbot`` process: the demo, JSON output, SIGKILL and resume."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from automation.sites.demo.samples import write_sample_videos
from tests.helpers import FLEETBOT, cli_env, demo_accounts_csv, fleetbot, fleetbot_async, kill_tree
from tests.integration.conftest import SiteProcess, posts_of


def test_demo_json_reports_both_runs(tmp_path: Path) -> None:
    result = fleetbot("demo", "--accounts", "6", "--duration", "1", "--json", data_dir=tmp_path)
    assert result.code == 0, result.stderr
    warmup, upload = result.json()["runs"]
    assert (warmup["kind"], warmup["status"], warmup["total"], warmup["succeeded"]) == (
        "warmup",
        "succeeded",
        6,
        6,
    )
    assert (upload["kind"], upload["status"], upload["total"], upload["succeeded"]) == (
        "upload",
        "succeeded",
        6,
        6,
    )
    expected_keys = {
        "run_id",
        "kind",
        "status",
        "total",
        "succeeded",
        "failed",
        "skipped",
        "duration_s",
        "items",
    }
    assert expected_keys <= warmup.keys()
    assert {"account", "status", "attempts", "error", "artifact", "result"} <= set(
        upload["items"][0]
    )
    posts = [item["result"]["post_url"] for item in upload["items"]]
    assert len(set(posts)) == 6  # one new post per demo user
    assert not any(item["result"]["already_posted"] for item in upload["items"])


async def run_cli(*args: str, data_dir: Path, **env: str) -> tuple[int, str, str]:
    return await fleetbot_async(*args, env=cli_env(data_dir, **env))


async def show(run_id: int, data_dir: Path) -> dict[str, Any]:
    code, out, err = await run_cli("runs", "show", str(run_id), "--json", data_dir=data_dir)
    assert code == 0, err
    return dict(json.loads(out))


async def test_sigkill_mid_upload_then_resume_finishes_without_duplicates(
    tmp_path: Path, site_process: Callable[..., Awaitable[SiteProcess]]
) -> None:
    site = await site_process("--users", "10", "--seed", "3")
    data_dir = tmp_path / "data"
    env = {"FLEETBOT_SITES__DEMO__BASE_URL": site.url, "FLEETBOT_AUTOMATION__CONCURRENCY": "3"}
    csv = tmp_path / "accounts.csv"
    csv.write_text(demo_accounts_csv(10))
    assert (await run_cli("accounts", "import", str(csv), data_dir=data_dir, **env))[0] == 0
    [video] = await asyncio.to_thread(write_sample_videos, tmp_path / "v", 1)

    runner = await asyncio.create_subprocess_exec(
        *FLEETBOT,
        "run",
        "upload",
        "--video",
        str(video),
        "all",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(data_dir, **env),
    )
    assert runner.stderr is not None
    # The run id is announced on stderr before any browser work.
    async with asyncio.timeout(60):
        first = (await runner.stderr.readline()).decode()
    run_id = int(first.split("#")[1].split(":")[0])

    # Kill it mid-run: some outcomes committed, some not.
    before: dict[str, Any] = {}
    async with asyncio.timeout(120):
        while True:
            before = await show(run_id, data_dir)
            if 2 <= before["succeeded"] < 10:
                break
            assert runner.returncode is None, "runner finished before it could be killed"
    kill_tree(runner.pid)  # the runner, its Chromium and its Playwright driver
    await runner.wait()

    at_kill = await show(run_id, data_dir)
    settled = {i["account"]: i for i in at_kill["items"] if i["status"] == "succeeded"}
    assert len(settled) >= 2

    code, out, err = await run_cli(
        "runs", "resume", str(run_id), "--json", data_dir=data_dir, **env
    )
    assert code == 0, err
    after = json.loads(out)
    assert after["status"] == "succeeded"
    assert [i["status"] for i in after["items"]] == ["succeeded"] * 10
    for item in after["items"]:
        if item["account"] in settled:
            assert item == settled[item["account"]]  # committed outcomes never change
    for k in range(1, 11):
        assert len(await posts_of(site.url, f"demo{k}")) == 1, f"demo{k} posted twice or never"

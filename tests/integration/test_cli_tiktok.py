"""The real ``fleetbot`` process against the TikTok replica: sites check, selector overrides,
a crash after Post then ``runs resume``, and ``accounts login`` in a visible browser."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from automation.sites.demo.samples import write_sample_videos
from bot.config import Settings
from storage.db import Database
from storage.models import Account, ItemStatus, Run, RunItem
from tests.helpers import FLEETBOT, Result, cli_env
from tests.tiktok_replica.harness import add_tiktok_accounts, api, posts_of
from tests.tiktok_replica.server import TikTokReplica
from tests.tiktok_replica.state import DRIFTED_POST_E2E, ReplicaOptions

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def replica() -> AsyncIterator[TikTokReplica]:
    async with TikTokReplica(ReplicaOptions(upload_delay_s=0.3, seed=9)) as running:
        yield running


def env(data_dir: Path, replica: TikTokReplica, **extra: str) -> dict[str, str]:
    return cli_env(data_dir, FLEETBOT_SITES__TIKTOK__BASE_URL=replica.url, **extra)


async def start(*args: str, environ: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *FLEETBOT,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environ,
    )


async def fleetbot(*args: str, environ: dict[str, str], limit_s: float = 180) -> Result:
    """The CLI in a subprocess without blocking the loop that serves the replica."""
    proc = await start(*args, environ=environ)
    async with asyncio.timeout(limit_s):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


@pytest.fixture
async def accounts(settings: Settings, replica: TikTokReplica) -> list[str]:
    async with Database(settings.storage) as db:
        return await add_tiktok_accounts(db.secrets, replica.url, 4)


async def test_check_names_a_renamed_selector_and_its_key_then_the_override_fixes_uploads(
    replica: TikTokReplica, accounts: list[str], data_dir: Path, tmp_path: Path
) -> None:
    replica.options.drift = True
    [video] = write_sample_videos(tmp_path / "videos", 1)
    environ = env(data_dir, replica)
    checked = await fleetbot(
        "sites",
        "check",
        "tiktok",
        "--account",
        "tt1",
        "--video",
        str(video),
        "--json",
        environ=environ,
    )
    assert checked.code == 0, checked.stderr
    report = checked.json()
    assert report["logged_in"] is True
    assert report["missing"] == ["post_button"]
    [post_button] = [c for c in report["checks"] if c["name"] == "post_button"]
    assert post_button["config_key"] == "[sites.tiktok.selectors] post_button"
    found = {c["name"] for c in report["checks"] if c["status"] == "found"}
    assert {"file_input", "select_video", "caption_editor", "feed_item"} <= found
    assert replica.state.posts == []  # a probe never posts

    failed = await fleetbot(
        "run", "upload", "--video", str(video), "tt1", "--json", environ=environ
    )
    assert failed.code == 0, failed.stderr
    [item] = failed.json()["items"]
    assert (item["status"], item["attempts"]) == ("failed", 1)
    assert "[sites.tiktok.selectors] post_button" in item["error"]

    config = tmp_path / "config.toml"
    config.write_text(
        (REPO / "config.toml").read_text(encoding="utf-8")
        + f"\n[sites.tiktok.selectors]\npost_button = 'button[data-e2e=\"{DRIFTED_POST_E2E}\"]'\n",
        encoding="utf-8",
    )
    fixed_env = env(data_dir, replica, FLEETBOT_CONFIG=str(config))
    rechecked = await fleetbot(
        "sites",
        "check",
        "tiktok",
        "--account",
        "tt1",
        "--video",
        str(video),
        "--json",
        environ=fixed_env,
    )
    assert rechecked.json()["missing"] == []
    posted = await fleetbot(
        "run", "upload", "--video", str(video), "tt1", "--json", environ=fixed_env
    )
    [item] = posted.json()["items"]
    assert item["status"] == "succeeded", item
    assert len(await posts_of(replica.url, "brand1")) == 1


async def test_check_without_a_session_says_not_logged_in(
    replica: TikTokReplica, accounts: list[str], data_dir: Path
) -> None:
    replica.state.expire_sessions()
    checked = await fleetbot(
        "sites", "check", "tiktok", "--account", "tt2", environ=env(data_dir, replica)
    )
    assert checked.code == 0, checked.stderr
    assert "tt2: NOT logged in" in checked.stdout
    assert "fleetbot accounts login tt2" in checked.stdout


async def test_sigkill_after_post_then_resume_records_the_existing_posts(
    replica: TikTokReplica, accounts: list[str], data_dir: Path, settings: Settings, tmp_path: Path
) -> None:
    # TikTok stores each post but its answer never comes before the runner dies.
    replica.options.post_response_delay_s = 120
    [video] = write_sample_videos(tmp_path / "videos", 1)
    environ = env(data_dir, replica, FLEETBOT_AUTOMATION__CONCURRENCY="4")
    proc = await start("run", "upload", "--video", str(video), "all", environ=environ)
    try:
        async with asyncio.timeout(180):
            while len({p.handle for p in replica.state.posts}) < 4:
                replica.state.post_stored.clear()
                await replica.state.post_stored.wait()
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert len(replica.state.posts) == 4
    replica.options.post_response_delay_s = 0

    async with Database(settings.storage):
        [run] = await Run.all()
        running = await RunItem.filter(run_id=run.id, status=ItemStatus.RUNNING).count()
    assert running == 4  # every item was mid-attempt when the process died

    resumed = await fleetbot("runs", "resume", str(run.id), "--json", environ=environ)
    assert resumed.code == 0, resumed.stderr
    summary = resumed.json()
    assert summary["status"] == "succeeded", summary
    for k, item in enumerate(summary["items"], start=1):
        assert item["result"]["already_posted"] is True
        [post] = await posts_of(replica.url, f"brand{k}")
        assert item["result"]["post_url"] == f"{replica.url}/@brand{k}/video/{post['id']}"
    assert len(replica.state.posts) == 4  # still exactly one post per account


def _install_xvfb() -> None:
    """Debian's xvfb package, when this machine lacks it and we may install packages."""
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "xvfb"],
            capture_output=True,
            check=False,
            timeout=600,
        )


@pytest.fixture
def xvfb() -> Iterator[str]:
    """A virtual X display on a free number (Xvfb picks it), stopped after the test."""
    if shutil.which("Xvfb") is None:
        _install_xvfb()
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is missing and could not be installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as numbers:
            number = numbers.readline().strip()  # written once the display is ready
        assert number.isdigit(), "Xvfb did not report a display"
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_accounts_login_opens_a_visible_browser_and_stores_the_session(
    replica: TikTokReplica, settings: Settings, data_dir: Path, xvfb: str
) -> None:
    async with Database(settings.storage) as db:
        await add_tiktok_accounts(db.secrets, replica.url, 1, sessions=False)
    environ = env(data_dir, replica, DISPLAY=xvfb)
    proc = await start("accounts", "login", "tt1", "--timeout", "120", environ=environ)
    try:
        async with asyncio.timeout(90):
            await replica.state.login_shown.wait()  # the QR code is on the visible page
        assert replica.state.sessions == {}
        await api(replica.url, "/api/scan", {"handle": "brand1"})  # the human scans it
        async with asyncio.timeout(60):
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert "logged in: stored a session" in out.decode()
    assert "sessionid" not in out.decode() + err.decode()  # what the cookie is called, at most

    async with Database(settings.storage) as db:
        account = await Account.get(label="tt1")
        assert account.session_state_enc is not None
        state = json.loads(db.secrets.decrypt(account.session_state_enc))
    [sid] = [c["value"] for c in state["cookies"] if c["name"] == "sessionid"]
    assert replica.state.handle_of(sid) == "brand1"
    checked = await fleetbot(
        "sites", "check", "tiktok", "--account", "tt1", "--json", environ=environ
    )
    assert checked.json()["logged_in"] is True


async def test_accounts_login_without_a_display_says_so(
    replica: TikTokReplica, accounts: list[str], data_dir: Path
) -> None:
    environ = {
        k: v for k, v in env(data_dir, replica).items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")
    }
    result = await fleetbot("accounts", "login", "tt1", environ=environ)
    assert result.code == 1
    assert "no display" in result.stderr
    assert result.stderr.count("\n") == 1
    assert replica.state.pages_served == 0

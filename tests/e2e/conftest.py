"""The real ``fleetbot serve`` process against the fake Bot API and the demo site."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from automation.sites.demo.server import DemoSite
from automation.sites.demo.state import DemoSiteOptions
from tests.fake_telegram import FakeBotAPI
from tests.helpers import FLEETBOT, cli_env, demo_accounts_csv, fleetbot_async

ADMIN = 1001
STRANGER = 2002
TOKEN = "123456:e2e-SECRET-token"
START_TIMEOUT_S = 60


@dataclass
class Fleet:
    """One data dir, one fake Bot API, one demo site; serve processes started on demand."""

    data_dir: Path
    api: FakeBotAPI
    site_url: str
    env: dict[str, str]
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    async def cli(self, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
        return await fleetbot_async(*args, env=self.env, stdin=stdin)

    async def add_accounts(self, count: int) -> None:
        csv = demo_accounts_csv(count)
        path = self.data_dir.parent / "accounts.csv"
        await asyncio.to_thread(path.write_text, csv, encoding="utf-8")
        code, _, err = await self.cli("accounts", "import", str(path))
        assert code == 0, err

    async def run_json(self, run_id: int) -> dict[str, Any]:
        code, out, err = await self.cli("runs", "show", str(run_id), "--json")
        assert code == 0, err
        return dict(json.loads(out))

    async def serve(self, *, log_through_pipe: bool = False) -> asyncio.subprocess.Process:
        """Start ``fleetbot serve`` and wait until it has registered its commands.

        ``log_through_pipe`` has a ``cat`` process write the log file, so a file-size limit
        put on serve (the disk-full test) does not stop its logging.
        """
        log = self.data_dir.parent / f"serve-{len(self.procs)}.log"
        self.logs.append(log)
        seen = len(self.api.calls)
        handle = await asyncio.to_thread(log.open, "wb")
        read_end, write_end = os.pipe() if log_through_pipe else (-1, handle.fileno())
        try:
            if log_through_pipe:
                self.procs.append(
                    await asyncio.create_subprocess_exec("cat", stdin=read_end, stdout=handle)
                )
            proc = await asyncio.create_subprocess_exec(
                *FLEETBOT,
                "serve",
                stdout=write_end,
                stderr=write_end,
                env=self.env,
            )
        finally:
            handle.close()
            if log_through_pipe:
                os.close(read_end)
                os.close(write_end)
        self.procs.append(proc)
        await self.api.wait_for(
            lambda call: call.method == "getUpdates" and self.api.calls.index(call) >= seen,
            within=START_TIMEOUT_S,
        )
        return proc

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    async def stop_all(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
            await proc.wait()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 60) -> None:
    """Wait for a condition another process makes true, checking it every 0.2 s."""
    for _ in range(int(within / 0.2)):
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"condition not met within {within}s")


@pytest.fixture
def site_options() -> DemoSiteOptions:
    return DemoSiteOptions(users=8, processing_s=0.3, seed=11)


@pytest.fixture
async def fleet(tmp_path: Path, site_options: DemoSiteOptions) -> AsyncIterator[Fleet]:
    data_dir = tmp_path / "data"
    async with FakeBotAPI(token=TOKEN) as api, DemoSite(site_options) as site:
        env = cli_env(
            data_dir,
            FLEETBOT_BOT__TOKEN=TOKEN,
            FLEETBOT_BOT__ADMINS=f"[{ADMIN}]",
            FLEETBOT_BOT__API_BASE=api.url,
            FLEETBOT_BOT__PROGRESS_EDIT_S="0.5",
            FLEETBOT_BOT__SHUTDOWN_GRACE_S="2",
            FLEETBOT_SITES__DEMO__BASE_URL=site.url,
            FLEETBOT_AUTOMATION__WARMUP_DURATION_S="0.5",
            FLEETBOT_AUTOMATION__BACKOFF_BASE_S="0.1",
            FLEETBOT_AUTOMATION__BACKOFF_MAX_S="0.5",
            FLEETBOT_AUTOMATION__LEASE_S="10",
            FLEETBOT_AUTOMATION__VERIFICATION_TIMEOUT_S="60",
            FLEETBOT_LOG__LEVEL="DEBUG",
        )
        fleet = Fleet(data_dir, api, site.url, env)
        try:
            yield fleet
        finally:
            await fleet.stop_all()


ServeFactory = Callable[[], Awaitable[asyncio.subprocess.Process]]

"""How fast `fleetbot serve` answers /status while it warms up the fleet.

The real serve process talks to the fake Bot API of tests/fake_telegram.py; a /status is
injected every 0.3 s during a warmup of every account, and the time from injecting it to
the bot's reply reaching the fake server is recorded. Kept apart from the browser figures:
``missing_prerequisite()`` names what is absent (the bot's composition root, the fake Bot
API) so that bench/run.py can skip it with a note instead of failing.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from automation.accounts import AccountRow, AccountService
from storage.config import StorageConfig
from storage.db import Database

if TYPE_CHECKING:
    from tests.fake_telegram import Call

ADMIN = 1001
TOKEN = "123456:bench-token"
PROBE_EVERY_S = 0.3
MAX_PROBES = 200
CONFIG = Path(__file__).resolve().parent.parent / "config.toml"


def missing_prerequisite() -> str | None:
    """Why the measurement cannot run in this checkout, or None when it can."""
    for module, role in (("bot.app", "the bot"), ("tests.fake_telegram", "the fake Bot API")):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"{module} ({role}) does not exist yet"
    return None


async def add_demo_accounts(data_dir: Path, users: list[str]) -> None:
    """Store demo accounts (password pw-<user>) in a fresh data dir."""
    async with Database(StorageConfig(data_dir=data_dir)) as db:
        await AccountService(db.secrets).import_rows(
            [AccountRow(u, "demo", u, f"pw-{u}") for u in users]
        )


def serve_env(data_dir: Path, token: str, api_url: str, site_url: str) -> dict[str, str]:
    """The environment of a benchmarked ``fleetbot serve``: this one's, minus FLEETBOT_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETBOT_")}
    return env | {
        "FLEETBOT_CONFIG": str(CONFIG),
        "FLEETBOT_STORAGE__DATA_DIR": str(data_dir),
        "FLEETBOT_BOT__TOKEN": token,
        "FLEETBOT_BOT__ADMINS": f"[{ADMIN}]",
        "FLEETBOT_BOT__API_BASE": api_url,
        "FLEETBOT_SITES__DEMO__BASE_URL": site_url,
    }


def _is_status_reply(call: Call) -> bool:
    return call.method == "sendMessage" and str(call.params.get("text", "")).startswith(
        "fleetbot "
    )


def _reply_after(sent: float) -> Callable[[Call], bool]:
    return lambda call: call.at >= sent and _is_status_reply(call)


async def bot_reply_times(
    site_url: str, users: list[str], data_dir: Path, executable: str, concurrency: int | str
) -> list[float]:
    """Milliseconds from each injected /status to its reply, during a whole warmup driven
    by serve itself at ``concurrency``."""
    from tests.fake_telegram import FakeBotAPI  # noqa: PLC0415 - optional, see missing_prerequisite

    await add_demo_accounts(data_dir, users)
    async with FakeBotAPI(token=TOKEN) as api:
        env = serve_env(data_dir, TOKEN, api.url, site_url)
        env |= {
            "FLEETBOT_AUTOMATION__WARMUP_DURATION_S": "3",
            "FLEETBOT_AUTOMATION__EXECUTABLE_PATH": executable,
            "FLEETBOT_AUTOMATION__CONCURRENCY": str(concurrency),
            "FLEETBOT_AUTOMATION__BROWSER_IDLE": "true",
            "FLEETBOT_LOG__LEVEL": "WARNING",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli", "serve", env=env, stdout=asyncio.subprocess.DEVNULL
        )
        try:
            await api.wait_for(lambda c: c.method == "getUpdates", within=60)
            api.inject_message(ADMIN, "/warmup all")
            await api.wait_for_message(ADMIN, contains="Run #1 (warmup)", within=60)
            times: list[float] = []
            for _ in range(MAX_PROBES):
                sent = time.monotonic()
                api.inject_message(ADMIN, "/status")
                reply = await api.wait_for(_reply_after(sent), within=30)
                times.append((reply.at - sent) * 1000)
                if "Run #1 (warmup) " in " ".join(
                    m.get("text", "") for m in api.sent(ADMIN) if "succeeded:" in m.get("text", "")
                ):
                    break
                await asyncio.sleep(PROBE_EVERY_S)  # the probing rate, not a condition
            return times
        finally:
            proc.terminate()
            await proc.wait()

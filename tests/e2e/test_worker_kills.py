"""Three ``fleetbot worker``s and one ``serve`` on one PostgreSQL database, workers killed.

A 30-account upload is started from the chat; ``serve`` drives nothing
(``automation.run_in_serve = false``), three workers (concurrency 2 each) do. Twice, once
enough items have succeeded and a worker holds an item whose post is already on the demo
site but whose outcome is not stored yet (read from the database and the site's API), that
worker is SIGKILLed (the process alone, as the kernel's OOM killer would) and a new one is
started. Its items come back when another runner's recovery pass (every ``lease_s / 2``)
sees their owner dead: at once on the same host, at lease expiry (``lease_s``, 10 s in the
fixture) from another host.

The verdict reads only final states, never timing: every item ends in exactly one final
state (every read of the rows is checked against the first final one seen, and every final
row at each kill against the end), a post made before a kill is found again rather than
made twice, the demo site holds exactly one post per account (the one recorded), the chat
gets exactly one summary, and no process printed a traceback.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import psutil
import pytest

from automation.sites.demo.samples import write_sample_videos
from automation.sites.demo.state import DemoSiteOptions
from tests.chaos.observe import FINAL, report
from tests.e2e.conftest import ADMIN, Fleet, eventually
from tests.e2e.test_bot import summaries, wait_summary
from tests.helpers import FLEETBOT, chromium_under
from tests.integration.conftest import posts_of

pytestmark = pytest.mark.xdist_group("postgres")

ACCOUNTS = 30
WORKERS = 3
# Kill a worker once this many items have succeeded (the second: this many more since the
# first kill), and only while it has an item in flight.
KILL_AFTER = (4, 8)


@pytest.fixture
def site_options() -> DemoSiteOptions:
    return DemoSiteOptions(users=ACCOUNTS, processing_s=2.5, seed=16)


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own to the fresh database the fleet uses."""
    conn = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://", 1))
    try:
        yield conn
    finally:
        await conn.close()


async def item_rows(pg: asyncpg.Connection) -> dict[int, dict[str, Any]]:
    """Every item of run 1 with what its outcome is made of, and who holds it."""
    rows = await pg.fetch(
        "SELECT id, account_id, status, result, finished_at, attempts, lease_owner"
        " FROM run_item WHERE run_id = 1 ORDER BY id"
    )
    return {row["id"]: dict(row) for row in rows}


def outcome(row: dict[str, Any]) -> tuple[Any, ...]:
    """The columns a stored outcome is made of (the lease columns are not)."""
    return (row["status"], row["result"], row["finished_at"], row["attempts"])


class Ledger:
    """Every final outcome the test has read, checked against every later read of the row."""

    def __init__(self, pg: asyncpg.Connection) -> None:
        self.pg = pg
        self.first: dict[int, tuple[Any, ...]] = {}
        self.reads = 0

    async def rows(self) -> dict[int, dict[str, Any]]:
        rows = await item_rows(self.pg)
        self.reads += 1
        for item_id, row in rows.items():
            if item_id in self.first:
                before = self.first[item_id]
                assert outcome(row) == before, f"item {item_id}: {before} became {outcome(row)}"
            elif row["status"] in FINAL:
                self.first[item_id] = outcome(row)
        return rows


async def processing(site_url: str, user: str) -> bool:
    """Whether the user's post is on the site and still processing: the worker that posted
    it is waiting for it, so it cannot have stored the item's outcome yet."""
    return any(post["status"] == "processing" for post in await posts_of(site_url, user))


def holder_pid(row: dict[str, Any]) -> int | None:
    """The pid of the runner driving a running item (lease owners are host:pid:start:token)."""
    if row["status"] != "running" or not row["lease_owner"]:
        return None
    return int(row["lease_owner"].split(":")[1])


class Workers:
    """The ``fleetbot worker`` processes of the test, each logging to its own file."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.live: list[asyncio.subprocess.Process] = []
        self.logs: list[Path] = []

    async def start(self) -> asyncio.subprocess.Process:
        log = self.fleet.data_dir.parent / f"worker-{len(self.logs)}.log"
        self.logs.append(log)
        handle = await asyncio.to_thread(log.open, "wb")
        try:
            proc = await asyncio.create_subprocess_exec(
                *FLEETBOT, "worker", stdout=handle, stderr=handle, env=self.fleet.env
            )
        finally:
            handle.close()
        self.fleet.procs.append(proc)  # SIGKILLed by the fixture if the test fails
        self.live.append(proc)
        return proc

    async def kill(self, proc: asyncio.subprocess.Process) -> list[psutil.Process]:
        """SIGKILL the worker itself; returns the Chromium it leaves behind, if any."""
        browsers = chromium_under(proc.pid)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        self.live.remove(proc)
        return browsers

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


async def test_sigkilled_workers_lose_nothing_and_post_nothing_twice(
    pg_url: str, pg: asyncpg.Connection, fleet: Fleet, tmp_path: Path
) -> None:
    started = time.monotonic()
    fleet.env |= {
        "FLEETBOT_STORAGE__DB_URL": pg_url,
        "FLEETBOT_AUTOMATION__RUN_IN_SERVE": "false",
        "FLEETBOT_AUTOMATION__CONCURRENCY": "2",
        # An item can be in flight at both kills; its attempts must not run out.
        "FLEETBOT_AUTOMATION__MAX_ATTEMPTS": "5",
        "FLEETBOT_LOG__LEVEL": "INFO",
    }
    await fleet.add_accounts(ACCOUNTS)
    [video] = await asyncio.to_thread(write_sample_videos, tmp_path / "videos", 1)
    await fleet.serve()
    workers = Workers(fleet)
    for _ in range(WORKERS):
        await workers.start()
    fleet.api.inject_message(
        ADMIN, None, caption="/upload all", video=(video.read_bytes(), "clip.mp4", "video/mp4")
    )
    await fleet.api.wait_for_message(ADMIN, contains="Run #1 (upload)", within=60)

    users = {
        row["id"]: row["username"] for row in await pg.fetch("SELECT id, username FROM account")
    }
    ledger = Ledger(pg)
    committed: dict[int, tuple[Any, ...]] = {}  # every final row at the moment of a kill
    posted_unstored: set[int] = set()  # items killed after their post reached the site
    in_flight_at_kills: list[int] = []
    posted_at_kills: list[int] = []
    orphans: list[psutil.Process] = []
    succeeded_at_kills: list[int] = []
    target = KILL_AFTER[0]
    for more in (*KILL_AFTER[1:], None):
        caught: list[tuple[asyncio.subprocess.Process, set[int]]] = []

        async def mid_upload(target: int = target, caught: list[Any] = caught) -> bool:
            """Enough succeeded, and a worker holds items whose post is already on the site
            while their outcome is not stored yet: the moment a kill can double a post."""
            rows = await ledger.rows()
            if sum(row["status"] == "succeeded" for row in rows.values()) < target:
                return False
            for worker in workers.live:
                held = [i for i, row in rows.items() if holder_pid(row) == worker.pid]
                posted = {
                    i
                    for i in held
                    if await processing(fleet.site_url, users[rows[i]["account_id"]])
                }
                if posted:
                    caught.append((worker, posted))
                    return True
            return False

        await eventually(mid_upload, within=240)
        victim, posted = caught[0]
        orphans += await workers.kill(victim)
        at_kill = await ledger.rows()
        in_flight_at_kills.append(sum(holder_pid(r) == victim.pid for r in at_kill.values()))
        unstored = {i for i in posted if at_kill[i]["status"] not in FINAL}
        posted_at_kills.append(len(unstored))
        posted_unstored |= unstored
        succeeded = sum(row["status"] == "succeeded" for row in at_kill.values())
        succeeded_at_kills.append(succeeded)
        for item_id, row in at_kill.items():
            if item_id in committed:
                assert outcome(row) == committed[item_id], f"item {item_id} changed"
            elif row["status"] in FINAL:
                committed[item_id] = outcome(row)
        await workers.start()
        if more is not None:
            target = succeeded + more

    async def all_final() -> bool:
        rows = (await ledger.rows()).values()
        return sum(row["status"] in FINAL for row in rows) == ACCOUNTS

    await eventually(all_final, within=240)
    summary = await wait_summary(fleet, 1, within=120)
    fleet.api.inject_message(ADMIN, "/runs")  # a later reply proves the outbox moved on
    await fleet.api.wait_for_message(ADMIN, contains="Recent runs", within=60)

    final = await ledger.rows()
    assert len(final) == ACCOUNTS
    assert len({row["account_id"] for row in final.values()}) == ACCOUNTS
    assert {row["status"] for row in final.values()} == {"succeeded"}
    for item_id, before in committed.items():
        assert outcome(final[item_id]) == before, f"item {item_id} changed after it was stored"
    posts = {f"demo{k}": await posts_of(fleet.site_url, f"demo{k}") for k in range(1, 31)}
    assert {user: len(p) for user, p in posts.items() if len(p) != 1} == {}
    recorded = {urlsplit(json.loads(row["result"])["post_url"]).path for row in final.values()}
    assert recorded == {urlsplit(p[0]["url"]).path for p in posts.values()}
    # A post that reached the site before its worker died is found again, not made again.
    assert all(posted_at_kills), f"a kill missed the post-to-outcome window: {posted_at_kills}"
    assert all(json.loads(final[i]["result"])["already_posted"] for i in posted_unstored)
    assert f"{ACCOUNTS} of {ACCOUNTS} succeeded" in summary["text"]
    assert len(summaries(fleet)) == 1

    for worker in workers.live:  # the survivors stop cleanly
        worker.send_signal(signal.SIGTERM)
    async with asyncio.timeout(60):
        codes = [await worker.wait() for worker in workers.live]
    assert codes == [0] * WORKERS, workers.log_text()[-3000:]
    # A SIGKILLed worker prints nothing more: whatever a log holds was said while alive.
    logs = fleet.log_text() + workers.log_text()
    assert "Traceback" not in logs, logs[-5000:]
    left = [p for p in orphans if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    for proc in left:
        proc.kill()
    report(
        "kill-workers",
        items=ACCOUNTS,
        workers=WORKERS,
        kills=len(KILL_AFTER),
        succeeded_at_kills=succeeded_at_kills,
        items_in_flight_at_kills=in_flight_at_kills,
        posted_but_unstored_at_kills=posted_at_kills,
        committed_before_kills=len(committed),
        database_reads_checked=ledger.reads,
        changed_after_kill=0,
        retried_items=sum(row["attempts"] > 1 for row in final.values()),
        duplicates=0,
        chromium_left_by_kills=len(left),
        duration_s=round(time.monotonic() - started, 1),
    )

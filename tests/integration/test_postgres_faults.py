"""A worker on PostgreSQL while the database goes away or hangs (needs FLEETBOT_TEST_PG_URL).

A TCP proxy between the worker and the server (tests/pgproxy.py) cuts every connection and
refuses new ones, or holds every socket open without passing a byte. Either way the worker
says so in one ``storage error`` line, keeps what it has not stored, and finishes the run
when the database is back: nothing lost, nothing retried twice, no traceback.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from tortoise.transactions import in_transaction

from automation.runs import Requester, RunService
from automation.sites.demo.server import DemoSite
from automation.sites.demo.state import DemoSiteOptions
from storage.config import StorageConfig
from storage.db import Database
from storage.health import StorageHealth
from storage.models import ItemStatus, RunItem, Setting, Trigger
from tests.helpers import cli_env
from tests.integration.test_cli_runs import run_cli
from tests.pgproxy import FaultyProxy

pytestmark = pytest.mark.xdist_group("postgres")
ACCOUNTS = 6


def through(url: str, port: int) -> str:
    """The same database URL, reached through the proxy on ``port``."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))


async def settled(data_dir: Path, pg_url: str, run_id: int) -> list[tuple[str, int]]:
    """(status, attempts) of every item, read straight from the server."""
    async with Database(StorageConfig(data_dir=data_dir, db_url=pg_url)):
        rows = await RunItem.filter(run_id=run_id).order_by("id").values("status", "attempts")
    return [(str(row["status"]), int(row["attempts"])) for row in rows]


async def on_server(pg_url: str, key: str) -> str | None:
    """A setting's value as the server has it committed, past Tortoise and the proxy."""
    import asyncpg  # noqa: PLC0415  (optional dependency)

    conn = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://", 1))
    try:
        value: str | None = await conn.fetchval("SELECT value FROM setting WHERE key=$1", key)
        return value
    finally:
        await conn.close()


@pytest.mark.parametrize("outage_s", [0, 3])
@pytest.mark.parametrize("hangs_at", ["begin", "statement", "commit"])
async def test_a_write_retried_in_the_task_whose_transaction_hung_is_committed(
    pg_url: str, tmp_path: Path, hangs_at: str, outage_s: float
) -> None:
    """The same task retries a transaction after its BEGIN, a statement or COMMIT timed out.

    Tortoise 1.1 left the task's current connection on the failed transaction: a retry then
    nested in it and was never committed (short outage) or failed for ever on a connection
    the pool had taken back (outage longer than the query timeout and asyncpg's cancel).
    """
    target = urlsplit(pg_url)
    async with FaultyProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        config = StorageConfig(
            data_dir=tmp_path / "data", db_url=through(pg_url, proxy.port), query_timeout_s=1
        )
        async with Database(config):
            tries = 0

            async def write() -> None:
                nonlocal tries
                tries += 1
                hang = tries == 1
                if hang and hangs_at == "begin":
                    proxy.hold()
                async with in_transaction():
                    if hang and hangs_at == "statement":
                        proxy.hold()
                    await Setting.update_or_create(key="k", defaults={"value": f"try {tries}"})
                    if hang and hangs_at == "commit":
                        proxy.hold()

            health = StorageHealth()
            failing = asyncio.Event()
            health.subscribe(lambda problem: problem and failing.set())
            stored = asyncio.create_task(health.until_stored("writing k", write))
            async with asyncio.timeout(30):  # within the query timeout
                await failing.wait()
            await asyncio.sleep(outage_s)  # the outage goes on: nothing to wait for
            await proxy.restore()
            async with asyncio.timeout(30):
                await stored
            assert not health.failing
            last = f"try {tries}"
    assert tries > 1
    assert await on_server(pg_url, "k") == last


@pytest.mark.parametrize("fault", ["cut", "hold"])
async def test_a_worker_outlasts_a_database_that_goes_away_or_hangs(
    pg_url: str, tmp_path: Path, fault: str
) -> None:
    data_dir = tmp_path / "data"
    csv = tmp_path / "accounts.csv"
    csv.write_text(
        "label,site,username,password,proxy,tags\n"
        + "".join(f"demo{k},demo,demo{k},pw-demo{k},,\n" for k in range(1, ACCOUNTS + 1))
    )
    direct = {"FLEETBOT_STORAGE__DB_URL": pg_url}
    assert (await run_cli("accounts", "import", str(csv), data_dir=data_dir, **direct))[0] == 0
    async with Database(StorageConfig(data_dir=data_dir, db_url=pg_url)):
        run = await RunService(data_dir).create_warmup(
            "all", duration_s=3, requester=Requester(Trigger.CLI)
        )
    target = urlsplit(pg_url)
    async with (
        DemoSite(DemoSiteOptions(users=ACCOUNTS, seed=2)) as site,
        FaultyProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy,
    ):
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli",
            "worker",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=cli_env(
                data_dir,
                FLEETBOT_STORAGE__DB_URL=through(pg_url, proxy.port),
                FLEETBOT_STORAGE__QUERY_TIMEOUT_S="4",
                FLEETBOT_SITES__DEMO__BASE_URL=site.url,
                FLEETBOT_AUTOMATION__CONCURRENCY="2",
            ),
        )
        assert worker.stderr is not None
        log: list[str] = []
        told = asyncio.Event()

        async def read_log() -> None:
            assert worker.stderr is not None
            while line := await worker.stderr.readline():
                log.append(line.decode())
                if "storage error" in log[-1]:
                    told.set()

        reader = asyncio.create_task(read_log())
        try:
            async with asyncio.timeout(120):  # items in flight and some already stored
                while (
                    sum(
                        s == ItemStatus.SUCCEEDED
                        for s, _ in await settled(data_dir, pg_url, run.id)
                    )
                    < 1
                ):
                    assert worker.returncode is None, "".join(log)
            if fault == "cut":
                await proxy.cut()
            else:
                proxy.hold()
            async with asyncio.timeout(60):  # said, within the query timeout
                await told.wait()
            await asyncio.sleep(15)  # the outage goes on: nothing to wait for
            await proxy.restore()
            async with asyncio.timeout(240):
                while any(
                    s in ItemStatus.open() for s, _ in await settled(data_dir, pg_url, run.id)
                ):
                    pass
        finally:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
            async with asyncio.timeout(60):
                code = await worker.wait()
                await reader
    items = await settled(data_dir, pg_url, run.id)
    text = "".join(log)
    assert items == [(ItemStatus.SUCCEEDED, 1)] * ACCOUNTS, text
    assert code == 0, text
    assert sum("storage error" in line for line in log) == 1, text
    assert any("storage works again" in line for line in log), text
    assert "Traceback" not in text

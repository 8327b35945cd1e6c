"""One scheduler per database: a second one is refused and told who holds the lock."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from storage.config import StorageConfig
from storage.locks import ADVISORY_KEY, ServeLock, ServeLocked, lock_path
from tests.conftest import REPO
from tests.integration.test_postgres_faults import through
from tests.pgproxy import FaultyProxy

HOLDER = """
import asyncio, sys
from storage.config import StorageConfig
from storage.locks import ServeLock

async def main() -> None:
    async with ServeLock(StorageConfig(data_dir=sys.argv[1])):
        print("locked", flush=True)
        await asyncio.to_thread(sys.stdin.readline)

asyncio.run(main())
"""


async def test_a_lock_held_by_another_process_names_it_and_dies_with_it(tmp_path: Path) -> None:
    config = StorageConfig(data_dir=tmp_path / "data")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        str(config.data_dir),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(30):
            assert await proc.stdout.readline() == b"locked\n"
        with pytest.raises(ServeLocked) as caught:
            async with ServeLock(config):
                pass
        message = str(caught.value)
        assert f"pid {proc.pid} on {socket.gethostname()}" in message
        assert message.startswith("another fleetbot scheduler uses this database")
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # a crash, not a clean exit
        await proc.wait()
    async with ServeLock(config):  # the kernel released it with the process
        assert f"pid {os.getpid()} on" in lock_path(config).read_text()


async def test_the_lock_sits_next_to_an_explicit_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'shared' / 'fleet.sqlite3'}"
    first = StorageConfig(data_dir=tmp_path / "a", db_url=url)
    second = StorageConfig(data_dir=tmp_path / "b", db_url=url)
    assert lock_path(first) == tmp_path / "shared" / "scheduler.lock"
    assert lock_path(StorageConfig(data_dir=tmp_path / "a")) == tmp_path / "a" / "scheduler.lock"
    async with ServeLock(first) as lock:
        with pytest.raises(RuntimeError, match="already held"):
            await lock.__aenter__()
        with pytest.raises(ServeLocked):
            async with ServeLock(second):
                pass


PG_URL = os.environ.get("FLEETBOT_TEST_PG_URL")


@pytest.mark.xdist_group("postgres")
async def test_postgres_takes_an_advisory_lock_that_names_its_holder(
    pg_url: str, tmp_path: Path
) -> None:
    first = StorageConfig(data_dir=tmp_path / "a", db_url=pg_url)
    # The same database spelt as Tortoise's asyncpg:// URL is still the same lock.
    second = StorageConfig(
        data_dir=tmp_path / "b", db_url="asyncpg" + pg_url[pg_url.index("://") :]
    )
    async with ServeLock(first):
        with pytest.raises(ServeLocked) as caught:
            async with ServeLock(second):
                pass
        assert f"fleetbot pid {os.getpid()} on {socket.gethostname()}" in str(caught.value)
    async with ServeLock(second):  # released with its connection
        pass
    assert not (tmp_path / "a" / "scheduler.lock").exists()


class LogSeen:
    """Set once a record containing ``text`` is logged by ``storage.locks``."""

    def __init__(self, text: str) -> None:
        self.event = asyncio.Event()
        loop = asyncio.get_running_loop()
        event = self.event

        class Watch(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if text in record.getMessage():
                    loop.call_soon_threadsafe(event.set)

        self.handler = Watch()
        logging.getLogger("storage.locks").addHandler(self.handler)

    async def wait(self) -> None:
        try:
            async with asyncio.timeout(CEILING_S):
                await self.event.wait()
        finally:
            logging.getLogger("storage.locks").removeHandler(self.handler)


CEILING_S = 60.0


async def refused_naming_us(config: StorageConfig) -> bool:
    try:
        async with ServeLock(config):
            return False
    except ServeLocked as refused:
        return f"fleetbot pid {os.getpid()} on" in str(refused)


@pytest.mark.xdist_group("postgres")
@pytest.mark.parametrize("fault", ["cut", "hold"])
async def test_a_serve_lock_lost_in_an_outage_is_taken_again(
    pg_url: str, tmp_path: Path, fault: str
) -> None:
    target = urlsplit(pg_url)
    direct = StorageConfig(data_dir=tmp_path / "b", db_url=pg_url)
    async with FaultyProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        config = StorageConfig(
            data_dir=tmp_path / "a", db_url=through(pg_url, proxy.port), query_timeout_s=1
        )
        async with ServeLock(config, check_every_s=0.2) as lock:
            keeper = asyncio.create_task(lock.keep())
            lost, taken = LogSeen("connection is lost"), LogSeen("taken again")
            if fault == "cut":
                await proxy.cut()
            else:
                proxy.hold()
            await lost.wait()
            await proxy.restore()
            await taken.wait()
            assert await refused_naming_us(direct)
            assert not keeper.done()
            keeper.cancel()
            with pytest.raises(asyncio.CancelledError):
                await keeper
        assert not await refused_naming_us(direct)  # let go on exit


@pytest.mark.xdist_group("postgres")
async def test_a_serve_whose_lock_another_took_during_an_outage_stops(
    pg_url: str, tmp_path: Path
) -> None:
    import asyncpg  # noqa: PLC0415  (optional dependency)

    target = urlsplit(pg_url)
    async with FaultyProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        config = StorageConfig(
            data_dir=tmp_path / "a", db_url=through(pg_url, proxy.port), query_timeout_s=1
        )
        async with ServeLock(config, check_every_s=0.2) as lock:
            keeper = asyncio.create_task(lock.keep())
            await proxy.cut()
            # Another serve takes the lock as soon as the server has ended the cut session.
            other = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://", 1))
            try:
                async with asyncio.timeout(CEILING_S):
                    await other.execute("SELECT pg_advisory_lock($1)", ADVISORY_KEY)
                await proxy.restore()
                with pytest.raises(ServeLocked, match="another fleetbot scheduler"):
                    async with asyncio.timeout(CEILING_S):
                        await keeper
            finally:
                await other.close()


@pytest.mark.xdist_group("postgres")
async def test_a_session_of_this_process_left_holding_the_lock_is_ended(
    pg_url: str, tmp_path: Path
) -> None:
    """A connection that hung keeps its session (and the lock) on the server; this process's
    next ServeLock ends that session by its name instead of refusing itself."""
    import asyncpg  # noqa: PLC0415  (optional dependency)

    config = StorageConfig(data_dir=tmp_path / "a", db_url=pg_url)
    lock = ServeLock(config)
    url = pg_url.replace("postgres://", "postgresql://", 1)
    for name, refused in ((lock.session_name, False), ("fleetbot pid 1 on elsewhere", True)):
        stale = await asyncpg.connect(url, server_settings={"application_name": name})
        try:
            assert await stale.fetchval("SELECT pg_try_advisory_lock($1)", ADVISORY_KEY)
            if refused:
                with pytest.raises(ServeLocked, match="elsewhere"):
                    async with ServeLock(config):
                        pass
            else:
                async with lock:
                    assert await refused_naming_us(config)
                    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError)):
                        await stale.fetchval("SELECT 1")  # its session was ended
        finally:
            stale.terminate()

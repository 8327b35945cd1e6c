"""One scheduler per database: a second one is refused and told who holds the lock."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from storage.config import StorageConfig
from storage.locks import ServeLock, ServeLocked, lock_path
from tests.conftest import REPO

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

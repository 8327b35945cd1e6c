"""PostgreSQL hangs under ``fleetbot serve`` mid-run, then answers again (FLEETBOT_TEST_PG_URL).

A TCP proxy between serve and the server (tests/pgproxy.py) holds every socket open
without passing a byte for 15 s: the way a hung server or a silently dropped network path
looks. Serve says so once in its log and once in the admins' chat, holds what it cannot
store, and when the server answers again finishes the run with exactly one summary.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import pytest

from storage.models import ItemStatus
from tests.chaos.observe import report
from tests.e2e.conftest import ADMIN, Fleet, eventually
from tests.e2e.test_bot import summaries, texts_to, wait_summary
from tests.integration.test_postgres_faults import settled, through
from tests.pgproxy import FaultyProxy

pytestmark = pytest.mark.xdist_group("postgres")
ACCOUNTS = 6
OUTAGE_S = 15


async def test_serve_outlasts_a_hung_postgresql(fleet: Fleet, pg_url: str) -> None:
    target = urlsplit(pg_url)
    async with FaultyProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        fleet.env |= {
            "FLEETBOT_STORAGE__DB_URL": through(pg_url, proxy.port),
            "FLEETBOT_STORAGE__QUERY_TIMEOUT_S": "4",
            "FLEETBOT_AUTOMATION__CONCURRENCY": "2",
            # Longer than the outage: the items in flight keep their leases, so each one is
            # attempted once (a shorter lease would rightly hand them to a new attempt).
            "FLEETBOT_AUTOMATION__LEASE_S": "60",
        }
        await fleet.add_accounts(ACCOUNTS)
        await fleet.serve()
        fleet.api.inject_message(ADMIN, "/warmup all 2s")
        await fleet.api.wait_for_message(ADMIN, contains="Run #1 (warmup)")

        async def some_succeeded() -> bool:
            rows = await settled(fleet.data_dir, pg_url, 1)
            return any(status == ItemStatus.SUCCEEDED for status, _ in rows)

        await eventually(some_succeeded, within=120)
        before = await settled(fleet.data_dir, pg_url, 1)
        proxy.hold()
        held_at = time.monotonic()

        async def logged(text: str) -> bool:
            return text in fleet.log_text()

        await eventually(lambda: logged("storage error"), within=60)
        detected_s = time.monotonic() - held_at
        await fleet.api.wait_for_message(ADMIN, contains="Storage is failing", within=30)
        # The outage goes on: nothing to wait for.
        await asyncio.sleep(max(0.0, held_at + OUTAGE_S - time.monotonic()))
        await proxy.restore()
        restored_at = time.monotonic()
        await eventually(lambda: logged("storage works again"), within=60)
        recovered_s = time.monotonic() - restored_at
        await fleet.api.wait_for_message(ADMIN, contains="Storage works again", within=30)
        summary = await wait_summary(fleet, 1, within=240)
        assert f"{ACCOUNTS} of {ACCOUNTS} succeeded" in summary["text"]
        assert len(summaries(fleet)) == 1
        await fleet.stop_all()
    assert await settled(fleet.data_dir, pg_url, 1) == [(ItemStatus.SUCCEEDED, 1)] * ACCOUNTS
    chat = texts_to(fleet, ADMIN)
    assert sum("Storage is failing" in text for text in chat) == 1, chat
    log = fleet.log_text()
    assert sum("storage error" in line for line in log.splitlines()) == 1, log
    assert "Traceback" not in log, log[log.index("Traceback") - 2000 :][:4000]
    report(
        "postgres-hang",
        items=ACCOUNTS,
        committed_before_fault=sum(status == ItemStatus.SUCCEEDED for status, _ in before),
        fault_s=round(restored_at - held_at, 1),
        detected_s=round(detected_s, 1),
        recovery_s=round(recovered_s, 1),
        succeeded=ACCOUNTS,
        alerts=1,
        lost=0,
    )

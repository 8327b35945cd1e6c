"""``serve`` and a ``fleetbot worker`` outlast a PostgreSQL that goes away or hangs, 15 or 90 s.

Both processes reach the server through one TCP proxy (tests/pgproxy.py) and both drive
items (concurrency 2 each). Once an item has succeeded and each process holds one in
flight, the proxy either cuts every connection and refuses new ones (a server that is down)
or holds every socket open without passing a byte (a server that hangs, which
``storage.query_timeout_s`` turns into the same storage-error path), for 15 s or 90 s, and
then relays again. Each process says so in exactly one ``storage error`` line and one
``storage works again`` line, ``serve`` tells the admins exactly once each way, the run
completes with one summary and all items succeeded, nothing is lost and no process prints
a traceback; both stop cleanly (exit 0) afterwards.

The 90 s outages outlast ``automation.lease_s`` (60 s, its default, kept on purpose: an
operator's database can be away longer than a lease). An expired lease lets the other
process recover an item and attempt it again, by design. So "nothing lost" reads: every item
ends in exactly one final state, every read of the rows is checked against the first final
outcome seen (a stored outcome never changes), every item succeeded within two attempts,
and the chat gets exactly one summary. Under the 15 s cut the leases hold, so every item is
attempted exactly once.

Each case has its own database (the ``pg_url`` fixture) and so shares nothing with the
other PostgreSQL tests: it is not in the ``postgres`` xdist group and runs beside them.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.chaos.observe import FINAL, report
from tests.e2e.conftest import ADMIN, Fleet, eventually
from tests.e2e.test_bot import summaries, texts_to, wait_summary
from tests.e2e.test_worker_kills import Ledger, Workers, holder_pid
from tests.integration.test_postgres_faults import through
from tests.pgproxy import FaultyProxy

ACCOUNTS = 8  # the fleet fixture's demo site has 8 users
LEASE_S = 60  # automation.lease_s's default (the fixture shortens it to 10 s)
QUERY_TIMEOUT_S = 4


def storage_lines(log: str, text: str) -> int:
    return sum(text in line for line in log.splitlines())


@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    ("fault", "outage_s"),
    [("cut", 15), ("cut", 90), ("hold", 90)],
    ids=["cut-15s", "cut-90s", "hold-90s"],
)
async def test_serve_and_a_worker_outlast_postgresql_away_or_hung(
    fleet: Fleet, pg_url: str, fault: str, outage_s: float
) -> None:
    started = time.monotonic()
    target = urlsplit(pg_url)
    pg = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://", 1))
    try:
        async with FaultyProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
            fleet.env |= {
                "FLEETBOT_STORAGE__DB_URL": through(pg_url, proxy.port),
                "FLEETBOT_STORAGE__QUERY_TIMEOUT_S": str(QUERY_TIMEOUT_S),
                "FLEETBOT_AUTOMATION__CONCURRENCY": "2",
                "FLEETBOT_AUTOMATION__LEASE_S": str(LEASE_S),
            }
            await fleet.add_accounts(ACCOUNTS)
            serve = await fleet.serve()
            workers = Workers(fleet)
            worker = await workers.start()

            async def both_runners_live() -> bool:  # each has published its heartbeat row
                count = await pg.fetchval(
                    "SELECT count(*) FROM setting WHERE key LIKE 'concurrency:%'"
                )
                return bool(count == 2)

            await eventually(both_runners_live, within=120)
            fleet.api.inject_message(ADMIN, "/warmup all 2s")
            await fleet.api.wait_for_message(ADMIN, contains="Run #1 (warmup)", within=60)
            ledger = Ledger(pg)

            async def both_mid_run() -> bool:
                rows = (await ledger.rows()).values()
                holders = {holder_pid(row) for row in rows}
                return (
                    any(row["status"] == "succeeded" for row in rows)
                    and {serve.pid, worker.pid} <= holders
                )

            await eventually(both_mid_run, within=180)
            before = await ledger.rows()
            if fault == "cut":
                await proxy.cut()
            else:
                proxy.hold()
            fault_at = time.monotonic()

            def logged(read_log: Callable[[], str], text: str) -> Callable[[], Awaitable[bool]]:
                async def check() -> bool:
                    return text in read_log()

                return check

            await eventually(logged(fleet.log_text, "storage error"), within=60)
            serve_detected_s = time.monotonic() - fault_at
            await eventually(logged(workers.log_text, "storage error"), within=60)
            worker_detected_s = time.monotonic() - fault_at
            await fleet.api.wait_for_message(ADMIN, contains="Storage is failing", within=30)
            # The outage goes on: nothing to wait for.
            await asyncio.sleep(max(0.0, fault_at + outage_s - time.monotonic()))
            await proxy.restore()
            restored_at = time.monotonic()
            await eventually(logged(fleet.log_text, "storage works again"), within=60)
            await eventually(logged(workers.log_text, "storage works again"), within=60)
            recovered_s = time.monotonic() - restored_at
            await fleet.api.wait_for_message(ADMIN, contains="Storage works again", within=30)

            async def all_final() -> bool:
                rows = (await ledger.rows()).values()
                return sum(row["status"] in FINAL for row in rows) == ACCOUNTS

            await eventually(all_final, within=300)
            summary = await wait_summary(fleet, 1, within=120)
            completed_s = time.monotonic() - restored_at
            for proc in (worker, serve):  # both stop cleanly after the outage
                proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(60):
                codes = [await worker.wait(), await serve.wait()]
        final = await ledger.rows()
    finally:
        await pg.close()

    logs = {"serve": fleet.log_text(), "worker": workers.log_text()}
    assert codes == [0, 0], {name: log[-3000:] for name, log in logs.items()}
    assert len(final) == ACCOUNTS
    assert {row["status"] for row in final.values()} == {"succeeded"}, final
    attempts = sorted(row["attempts"] for row in final.values())
    if outage_s < LEASE_S:
        assert attempts == [1] * ACCOUNTS, final
    else:
        assert max(attempts) <= 2, final
    assert f"{ACCOUNTS} of {ACCOUNTS} succeeded" in summary["text"]
    assert len(summaries(fleet)) == 1
    chat = texts_to(fleet, ADMIN)
    assert sum("Storage is failing" in text for text in chat) == 1, chat
    assert sum("Storage works again" in text for text in chat) == 1, chat
    for name, log in logs.items():
        assert storage_lines(log, "storage error") == 1, f"{name}:\n{log}"
        assert storage_lines(log, "storage works again") == 1, f"{name}:\n{log}"
        assert "Traceback" not in log, f"{name}:\n{log[log.find('Traceback') - 2000 :][:4000]}"
    report(
        f"postgres-{fault}-{outage_s:.0f}s",
        items=ACCOUNTS,
        committed_before_fault=sum(row["status"] == "succeeded" for row in before.values()),
        in_flight_at_fault=sum(row["status"] == "running" for row in before.values()),
        fault_s=round(restored_at - fault_at, 1),
        detected_s={"serve": round(serve_detected_s, 1), "worker": round(worker_detected_s, 1)},
        recovery_s=round(recovered_s, 1),
        completed_after_s=round(completed_s, 1),
        attempted_twice=sum(a == 2 for a in attempts),
        database_reads_checked=ledger.reads,
        succeeded=ACCOUNTS,
        alerts=1,
        lost=0,
        duration_s=round(time.monotonic() - started, 1),
    )

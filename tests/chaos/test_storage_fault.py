"""The disk fills up under ``fleetbot serve`` mid-run, then space comes back.

"Disk full" is a file-size limit (RLIMIT_FSIZE, set from outside with prlimit) on the
serve process: every write that would grow the database's files fails with EFBIG, which
SQLite reports as a disk I/O error, exactly where a full disk would stop it. The limit is
held for 8 s and at least until an item has finished its browser work and is holding its
outcome, then lifted.
"""

from __future__ import annotations

import asyncio
import resource
import time

import psutil

from tests.chaos.observe import FINAL, items, report, settled
from tests.e2e.conftest import ADMIN, Fleet, eventually
from tests.e2e.test_bot import summaries, wait_summary

ACCOUNTS = 6
FAULT_S = 8


async def test_disk_full_mid_run_is_reported_survived_and_loses_nothing(fleet: Fleet) -> None:
    fleet.env["FLEETBOT_AUTOMATION__CONCURRENCY"] = "3"
    await fleet.add_accounts(ACCOUNTS)
    serve = await fleet.serve(log_through_pipe=True)
    fleet.api.inject_message(ADMIN, "/warmup all 2s")
    await fleet.api.wait_for_message(ADMIN, contains="Run #1 (warmup)")

    async def some_settled() -> bool:
        return await settled(fleet.data_dir, 1) >= 1

    await eventually(some_settled, within=90)
    wal = fleet.data_dir / "fleetbot.sqlite3-wal"
    process = psutil.Process(serve.pid)
    process.rlimit(psutil.RLIMIT_FSIZE, (wal.stat().st_size, resource.RLIM_INFINITY))
    full_at = time.monotonic()
    before = await items(fleet.data_dir, 1)

    async def logged(text: str) -> bool:
        return text in fleet.log_text()

    # Wait for an outcome to be held: an item's browser work done, its write failing.
    await eventually(lambda: logged("storage error"), within=60)
    await eventually(lambda: logged("storage still failing while recording item"), within=60)
    await fleet.api.wait_for_message(ADMIN, contains="Storage is failing", within=30)
    await asyncio.sleep(max(0.0, full_at + FAULT_S - time.monotonic()))  # the fault lasts
    during = await items(fleet.data_dir, 1)
    assert during == before, "the database changed while it could not be written"

    process.rlimit(psutil.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    freed_at = time.monotonic()
    await eventually(lambda: logged("storage works again"), within=30)
    recovered_s = time.monotonic() - freed_at
    await fleet.api.wait_for_message(ADMIN, contains="Storage works again", within=30)
    summary = await wait_summary(fleet, 1, within=120)
    assert f"{ACCOUNTS} of {ACCOUNTS} succeeded" in summary["text"]
    final = await items(fleet.data_dir, 1)
    assert all(row["status"] in FINAL for row in final.values())
    for item_id, row in before.items():
        if row["status"] in FINAL:
            assert final[item_id] == row, f"committed item {item_id} changed"
    assert len(summaries(fleet)) == 1
    log = fleet.log_text()
    assert "Traceback" not in log, log[log.index("Traceback") - 2000 :][:4000]
    report(
        "disk-full",
        items=ACCOUNTS,
        committed_before_fault=sum(1 for row in before.values() if row["status"] in FINAL),
        fault_s=round(freed_at - full_at, 1),
        recovery_s=round(recovered_s, 1),
        succeeded=sum(1 for row in final.values() if row["status"] == "succeeded"),
        changed_after_commit=0,
        lost=0,
    )

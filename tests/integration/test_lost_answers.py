"""Writes whose answer was lost: the server committed them, then hung or dropped the socket.

A retried outcome finds itself already stored (not a lost lease), and an item leased by a
claim that raised goes back to pending without the attempt it never had.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from automation.accounts import AccountRow, AccountService
from automation.errors import TransientSiteError
from automation.leasing import Leases, utcnow
from automation.outcomes import Changes, Failure, Success, failure_changes, store, success_changes
from automation.runs import Requester, RunService
from automation.sites.base import WarmupReport
from storage.config import StorageConfig
from storage.db import Database
from storage.models import ItemStatus, RunItem, Trigger


def outcomes() -> list[Changes]:
    now = utcnow()
    report = WarmupReport(user="demo1", posts_viewed=3, scrolls=2, seconds=1.0)
    retry = failure_changes(Failure(TransientSiteError("5xx")), 1, 3, now, timedelta(seconds=5))
    return [success_changes(Success(report), now), retry]


async def warmup(db: Database, accounts: int) -> int:
    """A warmup run over ``accounts`` new accounts; its id."""
    await AccountService(db.secrets).import_rows(
        [AccountRow(f"demo{k}", "demo", f"demo{k}", f"pw-demo{k}") for k in range(accounts)]
    )
    run = await RunService(db.config.data_dir).create_warmup(
        "all", duration_s=1, requester=Requester(Trigger.CLI)
    )
    return run.id


async def check_store_twice(config: StorageConfig, which: int) -> None:
    async with Database(config) as db:
        run_id = await warmup(db, 1)
        (claimed,) = await Leases("runner-a", 60, 3).claim(run_id, 1, set())
        changes = outcomes()[which]
        args = (claimed.item_id, claimed.account_id, "runner-a")
        assert await store(*args, changes)
        assert await store(*args, changes), "the same outcome again read as a lost lease"
        other = outcomes()[which]  # made later: another runner's outcome, not this one
        assert not await store(*args, other)


@pytest.mark.parametrize("which", [0, 1], ids=["succeeded", "retrying"])
async def test_an_outcome_stored_twice_on_sqlite_is_stored(tmp_path: Path, which: int) -> None:
    await check_store_twice(StorageConfig(data_dir=tmp_path / "data"), which)


@pytest.mark.xdist_group("postgres")
@pytest.mark.parametrize("which", [0, 1], ids=["succeeded", "retrying"])
async def test_an_outcome_stored_twice_on_postgres_is_stored(
    tmp_path: Path, pg_url: str, which: int
) -> None:
    await check_store_twice(StorageConfig(data_dir=tmp_path / "data", db_url=pg_url), which)


async def test_an_item_leased_by_a_claim_that_raised_goes_back_uncounted(
    tmp_path: Path,
) -> None:
    async with Database(StorageConfig(data_dir=tmp_path / "data")) as db:
        run_id = await warmup(db, 2)
        leases = Leases("runner-a", 60, 3)
        lost, dropped = await leases.claim(run_id, 2, set())
        # What a claim whose UPDATE was committed but raised leaves behind: the item is the
        # runner's in the database, and the runner only knows the UPDATE may have happened.
        leases._unsure.add(lost.item_id)
        recovered, _ = await leases.recover_items(driving=set())
        rows = await RunItem.filter(run_id=run_id).values("id", "status", "attempts")
    assert recovered == 2
    by_id = {row["id"]: (row["status"], row["attempts"]) for row in rows}
    assert by_id[lost.item_id] == (ItemStatus.PENDING, 0)  # never attempted
    assert by_id[dropped.item_id] == (ItemStatus.PENDING, 1)  # its task ended: counted
    assert not leases._unsure


async def test_a_lease_that_ran_out_is_not_held_even_before_anyone_took_it(
    tmp_path: Path,
) -> None:
    async with Database(StorageConfig(data_dir=tmp_path / "data")) as db:
        run_id = await warmup(db, 1)
        leases = Leases("runner-a", 60, 3)
        (claimed,) = await leases.claim(run_id, 1, set())
        assert await leases.held(claimed.item_id) is not None
        # The database was away longer than the lease: nobody renewed it, nobody took it.
        await RunItem.filter(id=claimed.item_id).update(
            lease_until=utcnow() - timedelta(seconds=1)
        )
        assert await leases.held(claimed.item_id) is None  # another runner may recover it now

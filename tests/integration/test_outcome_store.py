"""Storing an outcome twice, as a retry after a lost COMMIT answer does, is not a lost lease."""

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
from storage.models import Trigger


def outcomes() -> list[Changes]:
    now = utcnow()
    report = WarmupReport(user="demo1", posts_viewed=3, scrolls=2, seconds=1.0)
    retry = failure_changes(Failure(TransientSiteError("5xx")), 1, 3, now, timedelta(seconds=5))
    return [success_changes(Success(report), now), retry]


async def check_store_twice(config: StorageConfig, which: int) -> None:
    async with Database(config) as db:
        await AccountService(db.secrets).import_rows(
            [AccountRow("demo1", "demo", "demo1", "pw-demo1")]
        )
        run = await RunService(config.data_dir).create_warmup(
            "all", duration_s=1, requester=Requester(Trigger.CLI)
        )
        (claimed,) = await Leases("runner-a", 60, 3).claim(run.id, 1, set())
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

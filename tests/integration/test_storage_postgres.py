"""The same models and migrations on PostgreSQL (needs FLEETBOT_TEST_PG_URL).

``.ci/run`` sets FLEETBOT_TEST_PG_URL when a server answers on 127.0.0.1:5432. Each test
gets a fresh database created next to the one in the URL and dropped afterwards.
"""

import os
from pathlib import Path

import pytest
from tortoise import connections

from automation.accounts import AccountService
from storage.config import StorageConfig
from storage.db import Database, connection_name
from storage.models import Account, Run, RunItem, RunKind, Trigger

PG_URL = os.environ.get("FLEETBOT_TEST_PG_URL")
pytestmark = [
    pytest.mark.skipif(not PG_URL, reason="FLEETBOT_TEST_PG_URL not set"),
    pytest.mark.xdist_group("postgres"),
]


async def test_migrations_and_models_on_postgres(pg_url: str, tmp_path: Path) -> None:
    config = StorageConfig(data_dir=tmp_path / "data", db_url=pg_url)
    async with Database(config) as db:
        rows = await connections.get(connection_name(config)).execute_query_dict(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert {"account", "run", "run_item", "notification"} <= {r["table_name"] for r in rows}
        labels = await AccountService(db.secrets).import_csv(
            b"label,site,username,password,proxy,tags\n"
            b"p1,demo,demo1,pw1,http://u:pp@127.0.0.1:3128,a\n"
        )
        assert labels == ["p1"]
        run = await Run.create(kind=RunKind.WARMUP, trigger=Trigger.CLI)
        account = await Account.get(label="p1")
        await RunItem.create(run=run, account=account)
        claimed = await RunItem.filter(run=run, status="pending").update(status="running")
        assert claimed == 1
    async with Database(config) as db:  # second open: nothing to migrate, key still fits
        account = await Account.get(label="p1")
        assert db.secrets.decrypt(account.password_enc) == "pw1"

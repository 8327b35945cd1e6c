"""The benchmark's statement counter counts what Tortoise really sends.

On real SQLite always; on PostgreSQL too when FLEETBOT_TEST_PG_URL names a server (a fresh
database is created for the test and dropped after), since the bench runs on both.
"""

import logging
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from tortoise.log import db_client_logger
from tortoise.transactions import in_transaction

from automation.summary import load_progress
from bench.statements import counting_statements
from storage.config import StorageConfig
from storage.db import Database
from storage.models import Account, Run, RunItem, RunKind, Trigger

PG_URL = os.environ.get("FLEETBOT_TEST_PG_URL")


@pytest.fixture(params=["sqlite", "postgres"])
async def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        async with Database(StorageConfig(data_dir=tmp_path / "data")) as db:
            yield db
        return
    if not PG_URL:
        pytest.skip("FLEETBOT_TEST_PG_URL not set")
    import asyncpg  # noqa: PLC0415  (optional dependency)

    name = f"fleetbot_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_URL.replace("postgres://", "postgresql://", 1))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(PG_URL)._replace(path=f"/{name}"))
    try:
        async with Database(StorageConfig(data_dir=tmp_path / "data", db_url=url)) as db:
            yield db
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_counts_each_statement_a_known_query_sends(any_db: Database) -> None:
    with counting_statements() as counter:
        await Account.create(label="a1", site="demo", username="u1")
    assert counter.count == 1  # one INSERT

    with counting_statements() as counter:
        await Account.bulk_create(
            [Account(label=f"b{k}", site="demo", username=f"b{k}") for k in range(5)]
        )
        assert counter.count == 1  # one executemany, however many rows
        assert await Account.filter(label__startswith="b").count() == 5
    assert counter.count == 2

    run = await Run.create(kind=RunKind.WARMUP, trigger=Trigger.CLI)
    with counting_statements() as counter:
        async with in_transaction():
            for account in await Account.all():  # one SELECT
                await RunItem.create(run=run, account=account)  # six INSERTs
    assert counter.count == 7

    with counting_statements() as counter:
        items = await RunItem.filter(run=run).prefetch_related("account")
        progress = await load_progress(run)
    assert len(items) == progress.total == 6
    assert counter.count == 3  # the items, their accounts (one query), one GROUP BY


async def test_leaves_the_logger_as_it_found_it(db: Database) -> None:
    level, propagate = db_client_logger.level, db_client_logger.propagate
    with counting_statements():
        assert db_client_logger.isEnabledFor(logging.DEBUG)
    assert (db_client_logger.level, db_client_logger.propagate) == (level, propagate)
    assert not db_client_logger.handlers
    with counting_statements() as counter:
        pass
    await Account.filter(label="nobody").exists()  # after the block: not counted
    assert counter.count == 0

"""The schema, migrations and secret handling on a real SQLite file."""

import os
import stat
from pathlib import Path

import pytest
from tortoise import connections

from bot.config import Settings
from storage.crypto import SecretKeyError
from storage.db import Database, StorageError
from storage.models import Account, ItemStatus, Run, RunItem, RunKind, Trigger
from tests.conftest import REPO

EXPECTED_TABLES = {
    "proxy",
    "account",
    "video",
    "schedule",
    "run",
    "run_item",
    "notification",
    "setting",
}


MIGRATIONS = sorted(p.stem for p in (REPO / "storage" / "migrations").glob("0*.py"))


async def tables() -> set[str]:
    rows = await connections.get("sqlite").execute_query_dict(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    )
    return {row["name"] for row in rows}


async def test_opening_applies_migrations_in_wal_mode(db: Database, data_dir: Path) -> None:
    assert await tables() >= EXPECTED_TABLES
    conn = connections.get("sqlite")
    applied = await conn.execute_query_dict("SELECT * FROM tortoise_migrations")
    assert [row["name"] for row in applied] == MIGRATIONS
    assert (await conn.execute_query_dict("PRAGMA journal_mode"))[0]["journal_mode"] == "wal"
    assert (await conn.execute_query_dict("PRAGMA busy_timeout"))[0]["timeout"] == 10000
    assert (data_dir / "fleetbot.sqlite3").is_file()
    assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(data_dir / "secret.key").st_mode) == 0o600


async def test_reopening_keeps_data_and_applies_nothing_twice(settings: Settings) -> None:
    async with Database(settings.storage) as db:
        await Account.create(
            label="a", site="demo", username="u", password_enc=db.secrets.encrypt("pw")
        )
    async with Database(settings.storage) as db:
        account = await Account.get(label="a")
        assert db.secrets.decrypt(account.password_enc) == "pw"
        applied = await connections.get("sqlite").execute_query_dict(
            "SELECT count(*) AS n FROM tortoise_migrations"
        )
        assert applied[0]["n"] == len(MIGRATIONS)


async def test_run_item_is_unique_per_run_account_video(db: Database) -> None:
    account = await Account.create(label="a", site="demo", username="u")
    run = await Run.create(kind=RunKind.WARMUP, trigger=Trigger.CLI)
    await RunItem.create(run=run, account=account)
    item = await RunItem.get(run=run)
    assert item.status == ItemStatus.PENDING
    assert item.attempts == 0


async def test_database_rejects_second_enter(settings: Settings) -> None:
    database = Database(settings.storage)
    async with database:
        with pytest.raises(RuntimeError, match="already open"):
            await database.__aenter__()


async def test_missing_key_file_with_encrypted_data_is_a_clear_error(
    settings: Settings, data_dir: Path
) -> None:
    async with Database(settings.storage):
        pass
    (data_dir / "secret.key").unlink()
    with pytest.raises(SecretKeyError, match="holds encrypted secrets but no key was found"):
        async with Database(settings.storage):
            pass
    assert not (data_dir / "secret.key").exists()  # never silently replaced


async def test_wrong_env_key_is_a_clear_error(settings: Settings) -> None:
    async with Database(settings.storage, secret_key="k" * 40):
        pass
    with pytest.raises(SecretKeyError, match="FLEETBOT_SECRET_KEY is not the one"):
        async with Database(settings.storage, secret_key="z" * 40):
            pass
    async with Database(settings.storage, secret_key="k" * 40):
        pass


async def test_unreachable_database_is_a_storage_error(settings: Settings) -> None:
    bad = settings.storage.model_copy(
        update={"db_url": "postgres://nobody:hunter2@127.0.0.1:1/none"}
    )
    with pytest.raises(StorageError) as info:
        async with Database(bad):
            pass
    assert "hunter2" not in str(info.value)
    assert "postgres://nobody:***@127.0.0.1:1/none" in str(info.value)

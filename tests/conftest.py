"""Shared fixtures: a throwaway data dir, settings pointing at it, an open database."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.config import Settings, load_settings
from storage.db import Database

REPO = Path(__file__).resolve().parent.parent
# .ci/run sets it when a PostgreSQL server answers on 127.0.0.1:5432.
PG_URL = os.environ.get("FLEETBOT_TEST_PG_URL")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's own FLEETBOT_* variables."""
    for name in list(os.environ):
        if name.startswith("FLEETBOT_") and name != "FLEETBOT_TEST_PG_URL":
            monkeypatch.delenv(name)
    yield


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path, tmp_path: Path) -> Settings:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndata_dir = "{data_dir}"\n', encoding="utf-8")
    return load_settings(config)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    async with Database(settings.storage) as database:
        yield database


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, dropped after it: advisory locks and rows
    never meet another test's. Skips when no server was given (FLEETBOT_TEST_PG_URL)."""
    if not PG_URL:
        pytest.skip("FLEETBOT_TEST_PG_URL not set")
    import asyncpg  # noqa: PLC0415  (optional dependency)

    name = f"fleetbot_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_URL.replace("postgres://", "postgresql://", 1))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(PG_URL)._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

"""Shared fixtures: a throwaway data dir, settings pointing at it, an open database."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from storage.db import Database

REPO = Path(__file__).resolve().parent.parent


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

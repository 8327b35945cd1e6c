"""Open the database: data dir, migrations, ORM, secret key; close it in reverse.

``Database`` is the only place Tortoise is initialised. Every command that opens it applies
pending migrations first, so the schema always matches the code that runs.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Self
from urllib.parse import urlsplit

from pydantic import SecretStr
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate

from storage.closing import Closing
from storage.config import StorageConfig
from storage.crypto import SecretBox
from storage.datadir import prepare
from storage.errors import StorageError
from storage.health import STORAGE_ERRORS
from storage.keyring import unlock

log = logging.getLogger(__name__)

APP = "models"
MODELS_MODULE = "storage.models"
MIGRATIONS_MODULE = "storage.migrations"
_ASYNCPG_SCHEMES = ("postgres", "postgresql", "asyncpg")
PG_ENGINE = "storage.asyncpg_backend"
SQLITE_ENGINE = "storage.sqlite_backend"


def connection_name(config: StorageConfig) -> str:
    """The Tortoise connection name, one per SQL dialect.

    Tortoise caches prepared INSERT statements by connection name, so one process that
    opens SQLite and then PostgreSQL (the test suite) must not reuse the name.
    """
    url = config.db_url or "sqlite"
    return url.split(":", 1)[0].replace("postgresql", "postgres")


def tortoise_config(config: StorageConfig) -> dict[str, Any]:
    """The Tortoise config for this storage section (SQLite in WAL mode by default)."""
    connection: str | dict[str, Any]
    name = connection_name(config)
    if config.db_url and urlsplit(config.db_url).scheme in _ASYNCPG_SCHEMES:
        connection = expand_db_url(config.db_url)
        connection["engine"] = PG_ENGINE  # Tortoise's asyncpg client, transactions mended
        connection["credentials"] |= {
            "command_timeout": config.query_timeout_s,
            "timeout": config.query_timeout_s,
        }
    elif config.db_url:
        connection = expand_db_url(config.db_url)
        if connection["engine"] == "tortoise.backends.sqlite":
            connection["engine"] = SQLITE_ENGINE  # transactions mended likewise
    else:
        connection = {
            "engine": SQLITE_ENGINE,
            "credentials": {
                "file_path": str(config.sqlite_path),
                "journal_mode": "WAL",
                "busy_timeout": config.sqlite_busy_timeout_ms,
                "synchronous": "NORMAL",
            },
        }
    return {
        "connections": {name: connection},
        "apps": {
            APP: {
                "models": [MODELS_MODULE],
                "default_connection": name,
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# Used only by `tortoise makemigrations` (see [tool.tortoise] in pyproject.toml).
MIGRATIONS_CONFIG = tortoise_config(StorageConfig(db_url="sqlite://:memory:"))


def describe_url(config: StorageConfig) -> str:
    """The database location without any password in it."""
    if not config.db_url:
        return str(config.sqlite_path)
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", config.db_url)


async def ensure_data_dir(config: StorageConfig) -> None:
    """Create the data dir privately and tighten looser modes found in it, saying so."""
    sqlite_path = None if config.db_url else config.sqlite_path
    changed = await asyncio.to_thread(prepare, config.data_dir, sqlite_path)
    if changed:
        shown = ", ".join(str(p) for p in changed[:5]) + (" ..." if len(changed) > 5 else "")
        log.warning(
            "%d file(s) or folder(s) in the data dir could be read by other users; "
            "made private (0600/0700): %s",
            len(changed),
            shown,
        )


class Database(Closing):
    """The ORM's lifetime in this process, plus the secret box for encrypted columns."""

    def __init__(self, config: StorageConfig, *, secret_key: str | None = None) -> None:
        self.config = config
        self._secret_key = secret_key
        self._secrets: SecretBox | None = None
        self._open = False

    @property
    def secrets(self) -> SecretBox:
        """The box that encrypts and decrypts this database's secrets."""
        if self._secrets is None:
            raise RuntimeError("database is not open")
        return self._secrets

    async def __aenter__(self) -> Self:
        if self._open:
            raise RuntimeError("database already open")
        where = describe_url(self.config)
        try:
            await ensure_data_dir(self.config)
            await migrate(config=tortoise_config(self.config))
            await Tortoise.init(config=tortoise_config(self.config))
        except STORAGE_ERRORS as exc:
            await Tortoise.close_connections()
            raise StorageError(f"cannot open database {where}: {_one_line(exc)}") from None
        self._open = True
        try:
            self._secrets = await self._open_secrets()
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        """Close every connection; safe to call twice."""
        if self._open:
            self._open = False
            await Tortoise.close_connections()

    async def _open_secrets(self) -> SecretBox:
        return await unlock(self.config.data_dir, self._secret_key)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


__all__ = [
    "Database",
    "StorageError",
    "connection_name",
    "describe_url",
    "ensure_data_dir",
    "tortoise_config",
]


def open_database(config: StorageConfig, secret_key: SecretStr | None = None) -> Database:
    """The database of this config (migrated and unlocked on entry), for every entry point."""
    return Database(config, secret_key=secret_key.get_secret_value() if secret_key else None)

"""Open the database: data dir, migrations, ORM, secret key; close it in reverse.

``Database`` is the only place Tortoise is initialised. Every command that opens it applies
pending migrations first, so the schema always matches the code that runs.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

from pydantic import SecretStr
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate

from storage.closing import Closing
from storage.config import StorageConfig
from storage.crypto import (
    KEY_FILE,
    SecretBox,
    SecretKeyError,
    create_key_file,
    key_from_env,
    read_key_file,
)
from storage.errors import StorageError
from storage.health import STORAGE_ERRORS
from storage.models import Setting

APP = "models"
MODELS_MODULE = "storage.models"
MIGRATIONS_MODULE = "storage.migrations"
_SECRET_CHECK = "secret_check"
_ASYNCPG_SCHEMES = ("postgres", "postgresql", "asyncpg")


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
        connection["credentials"] |= {
            "command_timeout": config.query_timeout_s,
            "timeout": config.query_timeout_s,
        }
    elif config.db_url:
        connection = config.db_url
    else:
        connection = {
            "engine": "tortoise.backends.sqlite",
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


def ensure_data_dir(data_dir: Path) -> None:
    """Create the data dir with mode 0700 (it holds the key and the database)."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for sub in ("videos", "artifacts"):
        (data_dir / sub).mkdir(mode=0o700, exist_ok=True)


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
            if not self.config.db_url:
                await asyncio.to_thread(ensure_data_dir, self.config.data_dir)
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
        data_dir = self.config.data_dir
        check = await Setting.get_or_none(key=_SECRET_CHECK)
        if self._secret_key:
            box = SecretBox(key_from_env(self._secret_key), "FLEETBOT_SECRET_KEY")
        else:
            await asyncio.to_thread(ensure_data_dir, data_dir)
            key = await asyncio.to_thread(read_key_file, data_dir)
            if key is None and check is not None:
                raise SecretKeyError(
                    "this database holds encrypted secrets but no key was found: set "
                    f"FLEETBOT_SECRET_KEY or restore {data_dir / KEY_FILE}"
                )
            if key is None:
                key = await asyncio.to_thread(create_key_file, data_dir)
            box = SecretBox(key, str(data_dir / KEY_FILE))
        if check is None:
            await Setting.create(key=_SECRET_CHECK, value=box.make_check())
        else:
            box.verify_check(check.value)
        return box


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

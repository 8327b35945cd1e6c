"""One module per CLI command group; each has ``register(sub, common)``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.config import Settings
from storage.db import Database

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:  # not subscriptable at run time before Python 3.12
    SubParsers = argparse._SubParsersAction


def open_database(settings: Settings) -> Database:
    """The database of these settings (migrated and unlocked on entry)."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    return Database(settings.storage, secret_key=key)

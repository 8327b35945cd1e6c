"""The ``[storage]`` section of config.toml."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class StorageConfig(BaseModel):
    """Where fleetbot keeps its database, media, artifacts and secret key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Path("data")
    db_url: str | None = Field(
        default=None,
        description="Tortoise DB URL; default sqlite at <data_dir>/fleetbot.sqlite3",
    )
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    # PostgreSQL: a query (or a connection attempt) that has no answer within this many
    # seconds fails, so a database that hangs is a storage error, not a silent stall.
    query_timeout_s: float = Field(default=30.0, gt=0)
    # Screenshots, traces and question screenshots older than this are deleted (0: never).
    artifact_retention_days: int = Field(default=14, ge=0)

    @property
    def sqlite_path(self) -> Path:
        """The default SQLite database file."""
        return self.data_dir / "fleetbot.sqlite3"

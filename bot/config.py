"""Load config.toml plus ``FLEETBOT_<SECTION>__<KEY>`` environment overrides, once.

Each section is a frozen pydantic model owned by the layer that uses it; this module only
assembles them. A bad value becomes one ``ConfigError`` line naming the key, the value and
what was expected, never a pydantic traceback. Secret values are never echoed.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from automation.config import AutomationConfig, SitesConfig
from storage.config import StorageConfig

ENV_PREFIX = "FLEETBOT_"
CONFIG_ENV = "FLEETBOT_CONFIG"
DEFAULT_CONFIG = Path("config.toml")
# A database URL may carry a password (postgres://user:password@host/db).
_SECRET_KEYS = frozenset({"bot.token", "secret_key", "storage.db_url"})


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line for the operator."""


class BotConfig(BaseModel):
    """The Telegram side."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: SecretStr | None = None
    admins: tuple[int, ...] = ()
    # Group chats where admins may use the bot too; by default only private chats are
    # answered, since everything the bot shows is seen by every member of a group.
    allowed_chats: tuple[int, ...] = ()
    api_base: str | None = None
    # The largest file the bot downloads; the public Bot API allows 20 MB, a local Bot API
    # server (api_base) up to 2000.
    download_limit_mb: int = Field(default=20, ge=1, le=2000)
    language: Literal["auto", "en", "ru"] = "auto"
    progress_edit_s: float = Field(default=3.0, ge=0.5)
    shutdown_grace_s: float = Field(default=30.0, ge=0)
    send_failure_screenshots: bool = True


class SchedulerConfig(BaseModel):
    """Recurring runs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "UTC"
    misfire_grace_s: int = Field(default=3600, ge=1)


class LogConfig(BaseModel):
    """Logging."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(BaseSettings):
    """Everything fleetbot reads from config.toml and the environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    bot: BotConfig = BotConfig()
    storage: StorageConfig = StorageConfig()
    automation: AutomationConfig = AutomationConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    log: LogConfig = LogConfig()
    sites: SitesConfig = SitesConfig()
    secret_key: SecretStr | None = None

    def secret_values(self) -> list[str]:
        """The configured secrets in plain text, for the log scrubber to replace."""
        secrets = (self.bot.token, self.secret_key)
        values = [secret.get_secret_value() for secret in secrets if secret is not None]
        if self.storage.db_url and (password := urlsplit(self.storage.db_url).password):
            values.append(password)
        return values

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values win, then the environment, then config.toml."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def scrub_environment() -> list[str]:
    """Drop every FLEETBOT_* variable from os.environ once the settings are loaded.

    Children copy os.environ when they start: Playwright's driver at
    ``async_playwright().start()``, and through it every Chromium process. The settings
    hold everything fleetbot needs, so the key and the bot token leave the environment
    before any child exists. Returns the names removed.
    """
    names = [name for name in os.environ if name.startswith(ENV_PREFIX)]
    for name in names:
        del os.environ[name]
    return names


def config_path(explicit: str | Path | None) -> Path | None:
    """The config file to read: --config, else $FLEETBOT_CONFIG, else ./config.toml if any."""
    if explicit is not None:
        return Path(explicit)
    if env := os.environ.get(CONFIG_ENV):
        return Path(env)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the configuration once; raise ConfigError with a one-line explanation."""
    file = config_path(path)
    if file is not None:
        _check_toml(file)

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=file)

    try:
        settings: Settings = _FromFile(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, file)) from None
    except SettingsError as exc:  # an environment value that is not the JSON it must be
        raise ConfigError(_describe_env(exc)) from None
    return _resolve_paths(settings, file)


def _describe_env(exc: SettingsError) -> str:
    """Name the variables of the section that failed to parse, never their values."""
    match = re.search(r'field "(\w+)"', str(exc))
    section = match.group(1).upper() if match else ""
    names = sorted(
        name for name in os.environ if name.startswith(ENV_PREFIX + section) and name != CONFIG_ENV
    )
    return (
        f"invalid configuration: cannot parse {', '.join(names) or 'an environment variable'}"
        " (lists and tables in the environment are written as JSON, e.g. [1, 2])"
    )


def _is_secret(key: str) -> bool:
    """A secret setting, or a section that holds one (``bot = "..."`` may be a token)."""
    return any(secret == key or secret.startswith(key + ".") for secret in _SECRET_KEYS)


def _check_toml(file: Path) -> None:
    if not file.is_file():
        raise ConfigError(f"config file {file} does not exist")
    try:
        tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {file} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None


def _describe(exc: ValidationError, file: Path | None) -> str:
    problems: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    for error in exc.errors():
        # A union's branches add their tag to the location ("constrained-int"); keep the key.
        parts = [str(p) for p in error["loc"] if str(p).isidentifier()]
        key = ".".join(parts)
        env = ENV_PREFIX + "__".join(part.upper() for part in parts)
        if error["type"] == "extra_forbidden":
            problems.setdefault(key, []).append("unknown setting")
            shown[key] = ""
            continue
        value = "<hidden>" if _is_secret(key) else repr(error.get("input"))
        shown[key] = f" = {value}"
        problems.setdefault(key, []).append(error["msg"].lower())
        problems[key] = list(dict.fromkeys(problems[key]))
        shown[key] += f" (from {env} or the file)"
    described = [
        f"{key}{shown[key]}: {' or '.join(msgs)}" if shown[key] else f"{key}: {msgs[0]}"
        for key, msgs in problems.items()
    ]
    where = f" in {file}" if file else ""
    return f"invalid configuration{where}: " + "; ".join(described)


def _resolve_paths(settings: Settings, file: Path | None) -> Settings:
    """Relative storage paths are relative to the config file's directory."""
    data_dir = settings.storage.data_dir.expanduser()
    if not data_dir.is_absolute():
        base = file.resolve().parent if file is not None else Path.cwd()
        data_dir = base / data_dir
    storage = settings.storage.model_copy(update={"data_dir": data_dir})
    return settings.model_copy(update={"storage": storage})

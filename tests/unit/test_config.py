from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_config_loads_with_documented_defaults() -> None:
    settings = load_settings(REPO / "config.toml")
    assert settings.bot.token is None
    assert settings.automation.max_attempts >= 1
    assert settings.storage.data_dir == REPO / "data"


def test_env_overrides_file_per_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[automation]\nconcurrency = 3\nwarmup_duration_s = 10\n")
    monkeypatch.setenv("FLEETBOT_AUTOMATION__WARMUP_DURATION_S", "5")
    monkeypatch.setenv("FLEETBOT_BOT__ADMINS", "[12345, 678]")
    monkeypatch.setenv("FLEETBOT_BOT__TOKEN", "123456:ABCDEF")
    monkeypatch.setenv("FLEETBOT_BOT__API_BASE", "http://127.0.0.1:8081")
    monkeypatch.setenv("FLEETBOT_SITES__DEMO__BASE_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("FLEETBOT_STORAGE__DB_URL", "postgres://u:p@127.0.0.1/x")
    monkeypatch.setenv("FLEETBOT_LOG__LEVEL", "DEBUG")
    settings = load_settings(path)
    assert settings.automation.concurrency == 3  # from the file
    assert settings.automation.warmup_duration_s == 5  # from the environment
    assert settings.bot.admins == (12345, 678)
    assert settings.bot.token is not None
    assert settings.bot.token.get_secret_value() == "123456:ABCDEF"
    assert "ABCDEF" not in repr(settings)
    assert settings.bot.api_base == "http://127.0.0.1:8081"
    assert settings.sites.demo.base_url == "http://127.0.0.1:9999"
    assert settings.storage.db_url == "postgres://u:p@127.0.0.1/x"
    assert settings.log.level == "DEBUG"


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[automation]\nmax_attempts = 7\n")
    monkeypatch.setenv("FLEETBOT_CONFIG", str(path))
    assert load_settings().automation.max_attempts == 7


def test_bad_env_value_names_key_value_and_expectation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEETBOT_AUTOMATION__CONCURRENCY", "lots")
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, ""))
    message = str(info.value)
    assert "\n" not in message
    assert "automation.concurrency" in message
    assert "'lots'" in message
    assert "integer" in message


def test_out_of_range_value_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"automation\.max_attempts = 0 \(from .*\): .*greater than"
    ):
        load_settings(write(tmp_path, "[automation]\nmax_attempts = 0\n"))


def test_unknown_key_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"automation\.concurency: unknown setting"):
        load_settings(write(tmp_path, "[automation]\nconcurency = 2\n"))


def test_secret_values_are_not_echoed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "[bot]\ntoken = 12345\n"))
    assert "12345" not in str(info.value)
    assert "bot.token = <hidden>" in str(info.value)


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[automation\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_relative_data_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[storage]\ndata_dir = "state"\n')
    assert load_settings(path).storage.data_dir == tmp_path / "state"

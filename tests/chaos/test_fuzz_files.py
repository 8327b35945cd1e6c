"""Fuzzed files: accounts CSV, the three session-file formats, config.toml and its env overrides.

Property: a valid result or our own error with a one-line message that repeats no secret.
Each ``@example`` is an input that once escaped as a bare exception or echoed a secret.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from automation.accounts import CsvImportError, parse_accounts_csv
from automation.session_files import SessionFileError, parse_session
from bot.config import ConfigError, load_settings

SECRET = "s3cr3t-§-value"  # '§' is in no generated label, site, name or key
FUZZ = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    # The autouse _clean_env fixture; each example patches and restores its own env.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# No lone surrogates: they cannot be encoded, so no real file holds them.
TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="§"), max_size=20)


def one_line_without_secret(message: str) -> None:
    assert message.strip() and "\n" not in message, repr(message)
    assert SECRET not in message, message


# -- accounts CSV --------------------------------------------------------------------

FIELD = st.sampled_from(["demo1", "demo", "", "#tag", "a;b", "x" * 70, "http://h:1"]) | TEXT
PROXY = st.builds(
    "{}://user:{}@{}:{}".format,
    st.sampled_from(["http", "socks5", "ftp", ""]),
    st.just(SECRET),
    st.sampled_from(["proxy.example", "", "[::1]", "h h"]),
    st.sampled_from(["8080", "0", "99999", "x", ""]),
)
ROW = st.fixed_dictionaries(
    {"label": FIELD, "site": FIELD, "username": FIELD, "proxy": PROXY | FIELD, "tags": FIELD}
)
HEADERS = st.sampled_from(
    [
        ["label", "site", "username", "password", "proxy", "tags"],
        ["label", "site", "username", "password"],
        ["Label ", "SITE", "username", "password", "extra"],
        ["site", "password"],
    ]
)


def csv_bytes(header: list[str], rows: list[dict[str, str]], tail: str) -> bytes:
    """A CSV whose password cells all hold SECRET, followed by arbitrary raw text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    names = [h.strip().lower() for h in header]
    for row in rows:
        writer.writerow([SECRET if n == "password" else row.get(n, "") for n in names])
    return (out.getvalue() + tail).encode("utf-8", "surrogatepass")


@FUZZ
@given(
    data=st.builds(csv_bytes, HEADERS, st.lists(ROW, max_size=4), st.just("") | TEXT)
    | st.binary(max_size=200)
)
@example(data=b"label,site,username\nacc,demo," + b"x" * 200_000 + b"\n")  # csv.Error
@example(data=b"label,site,username\n" + b"y" * 140_000)
def test_accounts_csv_parses_or_lists_its_problems(data: bytes) -> None:
    try:
        rows = parse_accounts_csv(data)
    except CsvImportError as exc:
        assert exc.problems
        for problem in exc.problems:
            one_line_without_secret(problem)
        return
    assert rows and all(row.label and row.site and row.username for row in rows)


# -- session files -------------------------------------------------------------------

COOKIE_KEYS = ["name", "domain", "path", "expires", "expirationDate", "session", "hostOnly"]
COOKIE_KEYS += ["sameSite", "httpOnly", "secure", "cookies", "origins"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(COOKIE_KEYS),
            inner,
            max_size=6,
        )
    ),
    max_leaves=12,
)


def with_secret_values(doc: Any) -> Any:
    """Every cookie-like object gets the SECRET as its value."""
    if isinstance(doc, dict):
        return {**{k: with_secret_values(v) for k, v in doc.items()}, "value": SECRET}
    if isinstance(doc, list):
        return [with_secret_values(v) for v in doc]
    return doc


NETSCAPE_LINE = st.lists(
    st.sampled_from(["demo.test", ".x", "", "TRUE", "FALSE", "/", "0", "-1", "nan", "inf", "n"])
    | TEXT.filter(lambda s: "\t" not in s and "\n" not in s and "\r" not in s),
    min_size=5,
    max_size=8,
).map(lambda fields: "\t".join([*fields[:6], SECRET, *fields[6:]]))
SESSION = (
    JSON.map(lambda doc: json.dumps(with_secret_values(doc)).encode())
    | st.lists(NETSCAPE_LINE | st.sampled_from(["# comment", "#HttpOnly_", ""]), max_size=4).map(
        lambda lines: "\n".join(lines).encode()
    )
    | st.binary(max_size=100)
)


@FUZZ
@given(data=SESSION)
@example(data=b"[" * 100_000 + b"]" * 100_000)  # RecursionError
@example(data=b'[{"name":"a","value":"b","domain":"c","expirationDate":' + b"9" * 5000 + b"}]")
@example(data=b'[{"name":"a","value":"b","domain":"c","expirationDate":' + b"9" * 400 + b"}]")
@example(data=b'[{"name":"a","value":"b","domain":"c","expirationDate":NaN}]')
@example(data=b"demo.test\tTRUE\t/\tFALSE\tinf\tsid\tv")
def test_session_files_parse_or_say_what_is_wrong(data: bytes) -> None:
    try:
        state = parse_session(data)
    except SessionFileError as exc:
        one_line_without_secret(str(exc))
        return
    assert set(state) == {"cookies", "origins"}
    for cookie in state["cookies"]:
        assert cookie["name"] and cookie["domain"]
        assert cookie["sameSite"] in {"Strict", "Lax", "None"}
        # Playwright and json.dumps need a finite expiry.
        assert cookie["expires"] == -1 or 0 < cookie["expires"] < float("inf")


# -- config.toml and FLEETBOT_* ------------------------------------------------------

KEYS = {
    "bot": ["token", "admins", "api_base", "download_limit_mb", "language", "progress_edit_s"],
    "storage": ["db_url", "sqlite_busy_timeout_ms"],
    "automation": ["concurrency", "max_attempts", "browser_args", "headless", "trace"],
    "scheduler": ["timezone", "misfire_grace_s"],
    "log": ["level"],
    "sites": ["demo"],
}
SCALAR = (
    st.integers(-(2**40), 2**40)
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["auto", "en", "DEBUG", "on-failure", "[1, 2]", "", "UTC"])
    | TEXT
)
TOML_VALUE = SCALAR | st.lists(st.integers(-5, 5) | st.sampled_from(["a", "1"]), max_size=3)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string, or a TOML error (also fine)
    return repr(value)


@st.composite
def toml_files(draw: st.DrawFn) -> str:
    lines = []
    if draw(st.booleans()):
        lines.append(f"secret_key = {json.dumps(SECRET)}")
    for section in draw(st.lists(st.sampled_from([*KEYS, "nope"]), max_size=3, unique=True)):
        lines.append(f"[{section}]")
        for key in draw(st.lists(st.sampled_from([*KEYS.get(section, []), "x"]), max_size=3)):
            value = SECRET if key in {"token", "db_url"} else draw(TOML_VALUE)
            lines.append(f"{key} = {toml_value(value)}")
    return "\n".join(lines) + "\n" + draw(st.just("") | TEXT)


ENV_NAMES = st.sampled_from(
    [f"FLEETBOT_{s.upper()}__{k.upper()}" for s, keys in KEYS.items() for k in keys]
    + ["FLEETBOT_BOT", "FLEETBOT_AUTOMATION", "FLEETBOT_SECRET_KEY", "FLEETBOT_NOPE__X"]
)
SECRET_ENV_NAMES = st.sampled_from(
    ["FLEETBOT_BOT__TOKEN", "FLEETBOT_SECRET_KEY", "FLEETBOT_STORAGE__DB_URL", "FLEETBOT_BOT"]
)
ENV_VALUE = st.sampled_from(["1", "[1,", "[1, 2]", '{"token": 1}', "auto", "", "x"]) | st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00§"), max_size=12
)


@FUZZ
@given(
    toml=toml_files() | TEXT,
    env=st.dictionaries(ENV_NAMES, ENV_VALUE, max_size=3)
    | st.dictionaries(SECRET_ENV_NAMES, st.just(SECRET), min_size=1),
)
@example(toml="", env={"FLEETBOT_BOT__ADMINS": "1,2"})  # pydantic-settings' SettingsError
@example(toml="", env={"FLEETBOT_BOT": SECRET})
@example(toml=f"bot = {json.dumps(SECRET)}\n", env={})  # a token in the wrong place, echoed
@example(toml=f"[storage]\ndb_url = [{json.dumps(SECRET)}]\n", env={})
def test_config_loads_or_raises_one_config_error(toml: str, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        file = Path(tmp) / "config.toml"
        file.write_text(toml, encoding="utf-8", errors="surrogatepass")
        for name, value in env.items():
            patch.setenv(name, value)
        try:
            loaded = load_settings(file)
        except ConfigError as exc:
            one_line_without_secret(str(exc))
            return
    assert loaded.storage.data_dir.is_absolute()

"""The accounts commands through the real ``fleetbot`` process."""

import asyncio
import json
from pathlib import Path

from storage.config import StorageConfig
from storage.db import Database
from storage.models import Proxy
from tests.helpers import fleetbot, grep_tree

HEADER = "label,site,username,password,proxy,tags\n"
GOOD = (
    HEADER
    + "acc1,demo,demo1,pw-secret-1,http://proxyuser:proxy-secret@127.0.0.1:3128,warm;eu\n"
    + "acc2,demo,demo2,pw-secret-2,,us\n"
    + "acc3,demo,demo3,pw-secret-3,socks5://127.0.0.1:1080,\n"
)
COOKIE = "cookie-secret-value-42"


def listed(data_dir: Path) -> list[dict]:
    result = fleetbot("accounts", "list", "--json", data_dir=data_dir)
    assert result.code == 0, result.stderr
    return result.json()["accounts"]


def test_import_list_and_no_plaintext_secret_on_disk(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    csv = tmp_path / "accounts.csv"
    csv.write_text(GOOD)
    result = fleetbot("accounts", "import", str(csv), data_dir=data_dir)
    assert result.code == 0, result.stderr
    assert "imported 3 account(s)" in result.stdout

    session = tmp_path / "cookies.txt"
    session.write_text(f".127.0.0.1\tTRUE\t/\tFALSE\t0\tsid\t{COOKIE}\n")
    result = fleetbot("accounts", "set-session", "acc2", str(session), data_dir=data_dir)
    assert result.code == 0, result.stderr

    accounts = listed(data_dir)
    assert [a["label"] for a in accounts] == ["acc1", "acc2", "acc3"]
    assert accounts[0]["proxy"] == "http://127.0.0.1:3128"
    assert accounts[0]["tags"] == ["warm", "eu"]
    assert [a["has_session"] for a in accounts] == [False, True, False]
    assert all(a["health"] == "ok" for a in accounts)
    text = json.dumps(accounts)
    secrets = ["pw-secret-1", "pw-secret-2", "pw-secret-3", "proxy-secret", COOKIE]
    assert not any(s in text for s in secrets)
    assert grep_tree(data_dir, secrets) == []


def test_bad_csv_reports_every_line_and_changes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (tmp_path / "good.csv").write_text(GOOD)
    assert fleetbot("accounts", "import", str(tmp_path / "good.csv"), data_dir=data_dir).code == 0
    before = listed(data_dir)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + "new1,demo,demo4,pw,,\n"
        + "new2,demo,demo5,pw,http://user:pw@nohost,\n"  # line 3: malformed proxy
        + "new3,demo,demo6,pw,,\n"
        + "acc1,demo,demo7,pw,,\n"  # line 5: label already stored
    )
    result = fleetbot("accounts", "import", str(bad), data_dir=data_dir)
    assert result.code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("fleetbot: line 3: proxy must look like")
    assert lines[1] == "fleetbot: line 5: account 'acc1' already exists"
    assert "nothing imported" in lines[-1]
    assert result.stdout == ""
    assert listed(data_dir) == before


def test_add_reads_password_from_stdin_and_remove(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = fleetbot(
        "accounts",
        "add",
        "solo",
        "--site",
        "demo",
        "--username",
        "demo9",
        "--password-stdin",
        "--tags",
        "a;b",
        data_dir=data_dir,
        stdin="pw-from-stdin\n",
    )
    assert result.code == 0, result.stderr
    assert [a["has_password"] for a in listed(data_dir)] == [True]
    assert grep_tree(data_dir, ["pw-from-stdin"]) == []

    again = fleetbot(
        "accounts",
        "add",
        "solo",
        "--site",
        "demo",
        "--username",
        "x",
        "--no-password",
        data_dir=data_dir,
    )
    assert again.code == 1
    assert again.stderr.strip() == "fleetbot: account 'solo' already exists"

    typo = fleetbot("accounts", "remove", "sola", data_dir=data_dir)
    assert typo.code == 1
    assert "did you mean solo?" in typo.stderr
    assert fleetbot("accounts", "remove", "solo", data_dir=data_dir).code == 0
    assert listed(data_dir) == []


def test_no_password_source_is_refused_without_a_terminal(tmp_path: Path) -> None:
    result = fleetbot(
        "accounts",
        "add",
        "x",
        "--site",
        "demo",
        "--username",
        "u",
        data_dir=tmp_path / "d",
        stdin="",
    )
    assert result.code == 1
    assert "--password-stdin" in result.stderr


def test_bad_session_file_and_bad_config_are_one_line_errors(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (tmp_path / "good.csv").write_text(GOOD)
    fleetbot("accounts", "import", str(tmp_path / "good.csv"), data_dir=data_dir)
    broken = tmp_path / "state.json"
    broken.write_text('{"cookies": [{"name": "sid", "value": "' + COOKIE + '"}], "origins": []}')
    result = fleetbot("accounts", "set-session", "acc1", str(broken), data_dir=data_dir)
    assert result.code == 1
    assert "cookie 1: missing or invalid 'domain'" in result.stderr
    assert COOKIE not in result.stderr

    bad_env = fleetbot(
        "accounts", "list", data_dir=data_dir, FLEETBOT_AUTOMATION__MAX_ATTEMPTS="many"
    )
    assert bad_env.code == 1
    assert len(bad_env.stderr.strip().splitlines()) == 1
    assert "automation.max_attempts = 'many'" in bad_env.stderr


def test_proxy_password_is_read_like_the_password_never_from_the_command_line(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    base = ("accounts", "add", "p1", "--site", "demo", "--username", "u1")
    refused = fleetbot(
        *base, "--proxy", "http://pu:proxy-SECRET@127.0.0.1:3128", data_dir=data_dir
    )
    assert refused.code == 1
    assert "--proxy must not hold a password" in refused.stderr
    assert "proxy-SECRET" not in refused.stderr + refused.stdout
    result = fleetbot(
        *base,
        "--proxy",
        "http://pu@127.0.0.1:3128",
        "--password-stdin",
        stdin="pw-SECRET\nproxy-SECRET\n",
        data_dir=data_dir,
    )
    assert result.code == 0, result.stderr
    missing = fleetbot(
        "accounts",
        "add",
        "p2",
        "--site",
        "demo",
        "--username",
        "u2",
        "--proxy",
        "http://pu@127.0.0.1:3129",
        "--password-stdin",
        stdin="pw-2\n",
        data_dir=data_dir,
    )
    assert missing.code == 1
    assert "put the proxy password" in missing.stderr
    help_text = fleetbot("accounts", "add", "--help", data_dir=data_dir).stdout
    assert "proxy's password" in " ".join(help_text.split())
    assert listed(data_dir)[0]["proxy"] == "http://127.0.0.1:3128"
    assert grep_tree(data_dir, ["pw-SECRET", "proxy-SECRET"]) == []
    assert asyncio.run(stored_proxy_password(data_dir)) == "proxy-SECRET"


async def stored_proxy_password(data_dir: Path) -> str:
    async with Database(StorageConfig(data_dir=data_dir)) as db:
        proxy = await Proxy.get(server="http://127.0.0.1:3128")
        assert proxy.password_enc is not None
        return db.secrets.decrypt(proxy.password_enc)

"""Secrets never leak: not in logs, chat messages, --json output, errors or file names.

The whole demo and a bot scenario run with DEBUG logging and known secrets; every output
they produce is then searched for the account passwords, the session cookie values the
demo site issued, the secret key and the bot token. The database holds the secrets
encrypted, so its raw bytes must not contain them either. The environment and command line
of every child of serve (Playwright's driver, every Chromium process) are read from /proc,
and the chat is read as its members see it after a rejected /import and a bad /session.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import psutil

from storage.config import StorageConfig
from storage.db import Database
from storage.models import Account
from tests.e2e.conftest import ADMIN, TOKEN, Fleet, eventually
from tests.helpers import cli_env, demo_accounts_csv, fleetbot

DEMO_ACCOUNTS = 2
SECRET_KEY = "chaos-SECRET-key-0123456789abcdefghijklmnop"
BOT_TOKEN = "987654321:chaos-SECRET-bot-token-ABCDEFGHIJKLMNOP"


async def stored_secrets(data_dir: Path, secret_key: str | None = None) -> dict[str, list[str]]:
    """Decrypt, through the storage layer, what the database holds for each account."""
    found: dict[str, list[str]] = {}
    async with Database(StorageConfig(data_dir=data_dir), secret_key=secret_key) as db:
        for account in await Account.all().order_by("label"):
            values = []
            if account.password_enc:
                values.append(db.secrets.decrypt(account.password_enc))
            if account.session_state_enc:
                state = json.loads(db.secrets.decrypt(account.session_state_enc))
                values += [c["value"] for c in state["cookies"] if len(c["value"]) >= 8]
            found[account.label] = values
    return found


def leaks(haystacks: dict[str, str], needles: list[str]) -> list[tuple[str, str]]:
    """Every (where, secret) pair where a secret appears in a text."""
    return [(where, n) for where, text in haystacks.items() for n in needles if n in text]


def raw_files(data_dir: Path, skip: set[str]) -> dict[str, str]:
    """Every file under data_dir as latin-1 text (bytes preserved), keyed by its path."""
    return {
        str(p): p.read_bytes().decode("latin-1")
        for p in data_dir.rglob("*")
        if p.is_file() and p.name not in skip
    }


def file_names(root: Path) -> dict[str, str]:
    """Every path under root, as text to search."""
    return {"file names": "\n".join(str(p) for p in root.rglob("*"))}


async def test_demo_with_debug_logging_leaks_no_secret(tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        fleetbot,
        "demo",
        "--accounts",
        str(DEMO_ACCOUNTS),
        "--duration",
        "0.5",
        "--json",
        "--keep",
        data_dir=tmp_path / "unused",
        FLEETBOT_LOG__LEVEL="DEBUG",
        FLEETBOT_SECRET_KEY=SECRET_KEY,
        FLEETBOT_BOT__TOKEN=BOT_TOKEN,
    )
    assert result.code == 0, result.stderr
    assert " DEBUG " in result.stderr  # the logs really are at DEBUG level
    kept = re.search(r"kept the demo data dir (\S+)", result.stderr)
    assert kept is not None, result.stderr
    demo_dir = Path(kept.group(1))
    try:
        data_dir = demo_dir / "data"
        # The demo keeps its throwaway data under a key file of its own.
        key_file = (data_dir / "secret.key").read_text().strip()
        secrets = await stored_secrets(data_dir)
        passwords = [f"pw-demo{k}" for k in range(1, DEMO_ACCOUNTS + 1)]
        cookies = [v for values in secrets.values() for v in values if v not in passwords]
        # The demo logged every account in, so each holds the password and a live cookie.
        assert sorted(v for vs in secrets.values() for v in vs if v in passwords) == passwords
        assert len(cookies) >= DEMO_ACCOUNTS
        needles = [*passwords, *cookies, key_file, SECRET_KEY, BOT_TOKEN]
        outputs = {"stdout": result.stdout, "stderr": result.stderr}
        assert leaks(outputs | file_names(demo_dir), needles) == []
        # Encrypted at rest: not in the database file, its journal, or anything else.
        assert leaks(raw_files(data_dir, skip={"secret.key"}), needles) == []
        runs = result.json()["runs"]
        assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    finally:
        await asyncio.to_thread(shutil.rmtree, demo_dir, True)


WRONG_PASSWORD = "wrong-SECRET-password-3"
STALE_COOKIE = "stale-SECRET-cookie-value-1"


def sent_by_bot(fleet: Fleet) -> str:
    """Every parameter (texts, captions, markup) of every call the bot made to the Bot API."""
    return json.dumps(
        [
            {"method": c.method, "params": c.params, "files": sorted(c.files)}
            for c in fleet.api.calls
        ],
        default=str,
    )


async def run_finished(fleet: Fleet, run_id: int) -> bool:
    code, out, _ = await fleet.cli("runs", "show", str(run_id), "--json")
    return code == 0 and json.loads(out)["status"] not in ("pending", "running")


async def test_bot_scenario_with_debug_logging_leaks_no_secret(fleet: Fleet) -> None:
    await fleet.serve()
    csv = demo_accounts_csv(3, {"demo3": WRONG_PASSWORD}).encode()
    fleet.api.inject_message(
        ADMIN, None, caption="/import", document=(csv, "accounts.csv", "text/csv")
    )
    await fleet.api.wait_for_message(ADMIN, contains="Imported 3 accounts")
    host = fleet.site_url.split("://")[1].split(":")[0]
    cookies = f"{host}\tFALSE\t/\tFALSE\t0\tsid\t{STALE_COOKIE}\n".encode()
    fleet.api.inject_message(
        ADMIN, None, caption="/session demo1", document=(cookies, "cookies.txt", "text/plain")
    )
    await fleet.api.wait_for_message(ADMIN, contains="Session of demo1 set (1 cookies)")
    fleet.api.inject_message(ADMIN, "/warmup all")
    await eventually(lambda: run_finished(fleet, 1), within=90)
    shown = await fleet.run_json(1)
    outcomes = {item["account"]: item for item in shown["items"]}
    assert [outcomes[f"demo{k}"]["status"] for k in (1, 2, 3)] == ["succeeded"] * 2 + ["failed"]
    assert outcomes["demo3"]["error"], "the wrong password produced no error text"

    key_file = (fleet.data_dir / "secret.key").read_text().strip()
    secrets = await stored_secrets(fleet.data_dir)
    issued = [v for v in secrets["demo1"] + secrets["demo2"] if not v.startswith("pw-demo")]
    assert issued, "the demo site issued no session cookie"
    assert STALE_COOKIE not in issued  # the stale session was replaced by a fresh login
    needles = ["pw-demo1", "pw-demo2", WRONG_PASSWORD, STALE_COOKIE, *issued, key_file, TOKEN]
    _, listing, _ = await fleet.cli("runs", "list", "--json")
    _, accounts, _ = await fleet.cli("accounts", "list", "--json")
    outputs = {
        "accounts list --json": accounts,
        "serve logs": fleet.log_text(),
        "Bot API calls": sent_by_bot(fleet),
        "runs show --json": json.dumps(shown),
        "runs list --json": listing,
    }
    assert " DEBUG " in outputs["serve logs"]
    assert "Traceback" not in outputs["serve logs"]
    assert leaks(outputs | file_names(fleet.data_dir), needles) == []
    assert leaks(raw_files(fleet.data_dir, skip={"secret.key"}), needles) == []


LOGGING_PROBE = """
import logging, sys
from bot.logs import setup_logging
token, url, configured = sys.argv[1], sys.argv[2], sys.argv[3]
setup_logging("DEBUG", [configured])
log = logging.getLogger("probe")
log.debug("calling %s", url)
log.info("token %s", token)
log.info("a configured secret of no known shape: %s", configured)
try:
    raise RuntimeError(f"GET {url} failed")
except RuntimeError:
    log.exception("request failed")
"""


def test_log_messages_and_tracebacks_are_scrubbed(tmp_path: Path) -> None:
    """The real logging setup, given secrets in messages, arguments and a traceback."""
    token = "123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"
    url = f"https://api.telegram.org/bot{token}/getMe via socks5://bob:hunter2-SECRET@10.0.0.1"
    proc = subprocess.run(
        [sys.executable, "-c", LOGGING_PROBE, token, url, "42:short-SECRET"],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert leaks({"stderr": proc.stderr}, [token, "hunter2-SECRET", "42:short-SECRET"]) == []
    assert "Traceback" in proc.stderr and proc.stderr.count("***") >= 5


PROXY_PASSWORD = "proxy-SECRET-password-9"
IMPORT_PASSWORD = "import-SECRET-password-8"
SESSION_COOKIE = "session-SECRET-cookie-7"
PASSPHRASE = "chaos passphrase SECRET with more than 32 characters"


def process_texts(pid: int) -> dict[str, str]:
    """The environment and command line of every process under pid, as /proc shows them."""
    found = {}
    for child in psutil.Process(pid).children(recursive=True):
        for part in ("environ", "cmdline"):
            try:
                data = Path(f"/proc/{child.pid}/{part}").read_bytes()
            except (FileNotFoundError, ProcessLookupError):  # it exited meanwhile
                continue
            found[f"{child.name()} {child.pid} {part}"] = data.replace(b"\0", b"\n").decode(
                errors="replace"
            )
    return found


async def test_child_processes_and_the_chat_keep_no_secret(fleet: Fleet) -> None:
    fleet.env["FLEETBOT_SECRET_KEY"] = PASSPHRASE
    serve = await fleet.serve()  # the browser pool is up before polling starts
    texts = process_texts(serve.pid)
    names = " ".join(texts)
    assert "chrom" in names and "node" in names, names  # Playwright's driver and Chromium
    assert leaks(texts, [PASSPHRASE, TOKEN, "FLEETBOT_"]) == []
    assert ("without its sandbox" in fleet.log_text()) == (os.geteuid() == 0)

    rejected = (
        "label,site,username,password,proxy,tags\n"
        f"x1,nosuchsite,u1,{IMPORT_PASSWORD},http://pu:{PROXY_PASSWORD}@10.0.0.1:3128,\n"
    ).encode()
    fleet.api.inject_message(
        ADMIN, None, caption="/import", document=(rejected, "accounts.csv", "text/csv")
    )
    await fleet.api.wait_for_message(ADMIN, contains="Nothing was imported")
    malformed = json.dumps(
        {"cookies": [{"name": "sid", "value": SESSION_COOKIE, "domain": ""}], "origins": []}
    ).encode()
    fleet.api.inject_message(
        ADMIN, None, caption="/session x1", document=(malformed, "state.json", "text/json")
    )

    async def both_deleted() -> bool:
        said = [m.get("text", "") for m in fleet.api.sent(ADMIN)]
        return sum("deleted your file" in text for text in said) == 2

    await eventually(both_deleted, within=30)
    chat = {"the chat": json.dumps(fleet.api.chat(ADMIN))}
    needles = [IMPORT_PASSWORD, PROXY_PASSWORD, SESSION_COOKIE]
    assert leaks(chat | {"Bot API calls": sent_by_bot(fleet)}, needles) == []
    assert not any("document" in m for m in fleet.api.chat(ADMIN))
    assert leaks({"serve logs": fleet.log_text()}, [*needles, PASSPHRASE]) == []

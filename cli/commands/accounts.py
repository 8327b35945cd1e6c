"""``fleetbot accounts list|add|import|remove|set-session|login``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from dataclasses import replace
from pathlib import Path

from automation.accounts import (
    MAX_CSV_BYTES,
    AccountRow,
    AccountService,
    CsvImportError,
    parse_proxy,
    parse_tags,
    validate_label,
)
from automation.errors import FleetbotError
from automation.login_window import NO_DISPLAY, has_display, log_in_by_hand
from automation.session_files import MAX_SESSION_BYTES, SessionFileError, parse_session
from automation.site_check import proxy_of
from automation.sites import SITE_NAMES, login_page
from bot.config import Settings
from cli.commands import SubParsers
from cli.output import print_json, print_table, read_file, say, warn, when
from storage.db import open_database


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    """Add the accounts commands."""
    accounts = sub.add_parser("accounts", help="manage the fleet's accounts", parents=[common])
    actions = accounts.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="show every account", parents=[common])
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=list_command)

    add = actions.add_parser(
        "add",
        help="add one account",
        parents=[common],
        description="Add one account. Passwords are read from stdin (--password-stdin) "
        "or asked interactively, never taken from the command line, where any local user "
        "could read them in `ps`: the account's password first (unless --no-password), then, "
        "when --proxy names a user, the proxy's password (an empty line or answer: none).",
    )
    add.add_argument("label")
    add.add_argument("--site", required=True, choices=SITE_NAMES)
    add.add_argument("--username", required=True)
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password, then the proxy's password, one per line from stdin",
    )
    add.add_argument("--no-password", action="store_true", help="store no account password")
    add.add_argument(
        "--proxy",
        help="scheme://[user@]host:port; the proxy password is asked for like the password",
    )
    add.add_argument("--tags", default="", help="tags separated by spaces or ';'")
    add.set_defaults(func=add_command)

    imp = actions.add_parser(
        "import",
        help="import accounts from a CSV file (all rows or none)",
        parents=[common],
        description="CSV columns: label,site,username,password,proxy,tags",
    )
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=import_command)

    remove = actions.add_parser(
        "remove", help="delete an account and its history", parents=[common]
    )
    remove.add_argument("label")
    remove.set_defaults(func=remove_command)

    session = actions.add_parser(
        "set-session",
        help="store a saved browser session for an account",
        parents=[common],
        description="FILE is a Playwright storage_state JSON, a JSON cookie list from a "
        "browser cookie-export extension, or a Netscape cookies.txt.",
    )
    session.add_argument("label")
    session.add_argument("file", type=Path)
    session.set_defaults(func=set_session_command)

    login = actions.add_parser(
        "login",
        help="log in by hand in a visible browser and store the session",
        parents=[common],
        description="Opens a visible Chromium (with the account's proxy) at the site's login "
        "page, waits until you have logged in, stores the session encrypted and closes. "
        "Needs a display. fleetbot never types the password for you.",
    )
    login.add_argument("label")
    login.add_argument(
        "--timeout", type=float, default=600, metavar="SECONDS", help="how long to wait"
    )
    login.set_defaults(func=login_command)


async def list_command(settings: Settings, args: argparse.Namespace) -> int:
    """Print the accounts, never their secrets."""
    async with open_database(settings.storage, settings.secret_key) as db:
        views = await AccountService(db.secrets).list_accounts()
    if args.json:
        print_json({"accounts": [v.to_json() for v in views]})
        return 0
    if not views:
        say("no accounts yet: add one with `fleetbot accounts add` or `accounts import`")
        return 0
    print_table(
        ["label", "site", "username", "health", "proxy", "tags", "last warmup", "session"],
        [
            (
                v.label,
                v.site,
                v.username,
                v.health
                + (f", resting until {when(v.cooldown_until)}" if v.cooldown_until else ""),
                v.proxy,
                " ".join(v.tags),
                when(v.last_warmup_at),
                "yes" if v.has_session else "no",
            )
            for v in views
        ],
    )
    return 0


async def add_command(settings: Settings, args: argparse.Namespace) -> int:
    """Add one account with a password from stdin or a prompt."""
    try:
        label = validate_label(args.label)
        proxy = parse_proxy(args.proxy) if args.proxy else None
        tags = parse_tags(args.tags)
    except ValueError as exc:
        raise FleetbotError(str(exc)) from None
    if proxy is not None and proxy.password is not None:
        raise FleetbotError(
            "--proxy must not hold a password (any local user sees the command line in "
            "`ps`): give scheme://user@host:port and type the password when asked, or pass "
            "it on stdin with --password-stdin"
        )
    password = await _password(args)
    if proxy is not None and proxy.username:
        proxy = replace(proxy, password=await _proxy_password(args, proxy.server))
    row = AccountRow(label, args.site, args.username, password, proxy, tags)
    async with open_database(settings.storage, settings.secret_key) as db:
        await AccountService(db.secrets).add(row)
    say(f"added account {label}")
    return 0


async def _password(args: argparse.Namespace) -> str | None:
    if args.no_password:
        return None
    if args.password_stdin:
        line: str = await asyncio.to_thread(sys.stdin.readline)
        password = line.rstrip("\r\n")
        if not password:
            raise FleetbotError("--password-stdin given but stdin held no password")
        return password
    if sys.stdin.isatty():
        typed = await asyncio.to_thread(getpass.getpass, f"password for {args.label}: ")
        return str(typed) or None
    raise FleetbotError("no password: use --password-stdin, a terminal, or --no-password")


async def _proxy_password(args: argparse.Namespace, server: str) -> str | None:
    """The proxy's password, asked for after the account's; empty means none."""
    if args.password_stdin:
        line: str = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            raise FleetbotError(
                "--proxy names a user: put the proxy password (or an empty line) on the "
                "line of stdin after the account password"
            )
        return line.rstrip("\r\n") or None
    if sys.stdin.isatty():
        typed = await asyncio.to_thread(getpass.getpass, f"password of proxy {server}: ")
        return str(typed) or None
    raise FleetbotError("no proxy password: use --password-stdin or a terminal")


async def import_command(settings: Settings, args: argparse.Namespace) -> int:
    """Import a CSV: every row valid, or nothing imported and every problem listed."""
    data = await read_file(args.file, MAX_CSV_BYTES, "accounts file")
    async with open_database(settings.storage, settings.secret_key) as db:
        try:
            labels = await AccountService(db.secrets).import_csv(data)
        except CsvImportError as exc:
            for problem in exc.problems:
                warn(problem)
            raise
    say(f"imported {len(labels)} account(s): {', '.join(labels)}")
    return 0


async def remove_command(settings: Settings, args: argparse.Namespace) -> int:
    """Delete one account."""
    async with open_database(settings.storage, settings.secret_key) as db:
        await AccountService(db.secrets, settings.storage.data_dir).remove(args.label)
    say(f"removed account {args.label}")
    return 0


async def set_session_command(settings: Settings, args: argparse.Namespace) -> int:
    """Store a session file, encrypted, for one account."""
    data = await read_file(args.file, MAX_SESSION_BYTES, "session file")
    try:
        state = parse_session(data)
    except SessionFileError as exc:
        raise FleetbotError(f"{args.file}: {exc}") from None
    async with open_database(settings.storage, settings.secret_key) as db:
        count = await AccountService(db.secrets).set_session(args.label, state)
    say(f"stored a session with {count} cookie(s) for {args.label}")
    return 0


async def login_command(settings: Settings, args: argparse.Namespace) -> int:
    """Let the human log in in a visible browser; store the session it leaves."""
    if not has_display():
        raise FleetbotError(NO_DISPLAY)
    async with open_database(settings.storage, settings.secret_key) as db:
        service = AccountService(db.secrets)
        account = await service.get(args.label)
        target = login_page(account.site, settings.sites)
        proxy = await proxy_of(account, db.secrets)
        state = await log_in_by_hand(
            target,
            settings.automation,
            proxy,
            timeout_s=args.timeout,
            on_open=lambda url: say(f"log in as {account.username} in the browser window ({url})"),
        )
        count = await service.set_session(args.label, state)
    say(f"logged in: stored a session with {count} cookie(s) for {args.label}")
    return 0

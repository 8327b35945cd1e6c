"""Managing the fleet's accounts: validated CSV import, add, remove, sessions, listing.

Validation is pure (``parse_accounts_csv``) so the CLI and the bot report the same
``line N: ...`` problems; ``AccountService`` writes only when every row is valid, in one
transaction. Passwords, proxy passwords and sessions are encrypted before they are stored
and never appear in a message.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tortoise.transactions import in_transaction

from automation.cooldown import resting_until
from automation.errors import FleetbotError
from automation.retention import account_artifacts
from automation.retention import remove as remove_artifacts
from automation.session_files import StorageState
from automation.sites import SITE_NAMES
from storage.crypto import SecretBox
from storage.models import Account, Health, ItemStatus, Proxy, RunItem

MAX_CSV_BYTES = 5 * 1024 * 1024
CSV_COLUMNS = ("label", "site", "username", "password", "proxy", "tags")
_REQUIRED = ("label", "site", "username")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_PROXY_SCHEMES = ("http", "https", "socks5")


class AccountError(FleetbotError):
    """An account operation that cannot be done as asked."""


class CsvImportError(AccountError):
    """An accounts CSV with invalid rows; nothing was imported."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the accounts file; nothing imported")
        self.problems = problems


@dataclass(frozen=True)
class ProxySpec:
    """A proxy as written in a CSV or a command: scheme://[user:pass@]host:port."""

    scheme: str
    host: str
    port: int
    username: str = ""
    password: str | None = field(default=None, repr=False)

    @property
    def server(self) -> str:
        """The address without credentials, as Playwright wants it."""
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True)
class AccountRow:
    """One validated account to create."""

    label: str
    site: str
    username: str
    password: str | None = field(default=None, repr=False)
    proxy: ProxySpec | None = None
    tags: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class AccountView:
    """What may be shown about an account: never a secret."""

    label: str
    site: str
    username: str
    health: str
    proxy: str | None
    tags: list[str]
    last_warmup_at: datetime | None
    has_password: bool
    has_session: bool
    failure_streak: int
    # Set while a site's rate limit keeps the account out of runs (automation.cooldown).
    cooldown_until: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``accounts list --json`` shape."""
        return {
            "label": self.label,
            "site": self.site,
            "username": self.username,
            "health": self.health,
            "proxy": self.proxy,
            "tags": self.tags,
            "last_warmup_at": self.last_warmup_at.isoformat() if self.last_warmup_at else None,
            "has_password": self.has_password,
            "has_session": self.has_session,
            "failure_streak": self.failure_streak,
            "cooldown_until": self.cooldown_until.isoformat() if self.cooldown_until else None,
        }


def parse_proxy(text: str) -> ProxySpec:
    """Parse scheme://[user:pass@]host:port; the error never repeats the input."""
    usage = "proxy must look like scheme://[user:pass@]host:port with scheme http, https or socks5"
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise ValueError(usage) from None
    if parts.scheme not in _PROXY_SCHEMES or not parts.hostname or port is None:
        raise ValueError(usage)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(usage)
    return ProxySpec(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password) if parts.password is not None else None,
    )


def validate_label(label: str) -> str:
    """Return the label or raise ValueError saying what a label may contain."""
    if not _LABEL.match(label):
        raise ValueError(
            f"label {label[:64]!r} must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return label


def parse_tags(text: str) -> tuple[str, ...]:
    """Split tags on spaces or ';' (a leading '#' is allowed and dropped)."""
    tags = []
    for raw in re.split(r"[\s;]+", text.strip()):
        if not raw:
            continue
        tag = raw.removeprefix("#")
        if not _TAG.match(tag):
            raise ValueError(f"tag {raw[:32]!r} must be letters, digits, '_' or '-'")
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def parse_accounts_csv(data: bytes) -> list[AccountRow]:
    """Validate a whole accounts CSV; raise CsvImportError listing every bad line."""
    rows, problems = check_accounts_csv(data)
    if problems:
        raise CsvImportError(problems)
    return rows


def check_accounts_csv(data: bytes) -> tuple[list[AccountRow], list[str]]:
    """The valid rows of an accounts CSV and a ``line N: ...`` problem for each bad one."""
    if len(data) > MAX_CSV_BYTES:
        return [], [f"file is larger than {MAX_CSV_BYTES // 2**20} MB"]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], ["file is not UTF-8 text"]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _check_records(reader)
    except csv.Error as exc:  # e.g. a field over csv's 128 KiB limit; nothing is kept
        return [], [f"line {reader.line_num + 1}: not readable as CSV ({exc})"]


def _check_records(reader: csv.DictReader[str]) -> tuple[list[AccountRow], list[str]]:
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [c for c in _REQUIRED if c not in header]
    unknown = [n for n, c in enumerate(header, 1) if c not in CSV_COLUMNS]
    if missing or unknown:
        return [], [_header_problem(missing, unknown)]
    reader.fieldnames = header
    rows: list[AccountRow] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if None in record:  # DictReader puts surplus fields under the key None
            problems.append(f"line {line}: more fields than the header has columns")
            continue
        values = {str(k): (v or "").strip() for k, v in record.items()}
        if not any(values.values()):
            continue
        row_problems: list[str] = []
        row = _row(values, line, row_problems)
        label = values.get("label", "")
        if label in first_line:
            row_problems.append(f"duplicate label {label!r} (first on line {first_line[label]})")
        elif label:
            first_line[label] = line
        problems.extend(f"line {line}: {p}" for p in row_problems)
        if row is not None and not row_problems:
            rows.append(row)
    if not rows and not problems:
        problems.append("file has no account rows")
    return rows, problems


def _header_problem(missing: list[str], unknown: list[int]) -> str:
    """Say what is wrong with line 1 by column position, never by its text.

    A file without its header line has an account as line 1: quoting its cells would echo
    a password or a proxy URL with its password.
    """
    parts = []
    if missing:
        parts.append("missing column(s) " + ", ".join(missing))
    if unknown:
        parts.append("unknown column(s) at position " + ", ".join(map(str, unknown)))
    expected = ",".join(CSV_COLUMNS)
    return f"line 1: {'; '.join(parts)} (line 1 must be the header {expected}; is it missing?)"


def _row(values: dict[str, str], line: int, problems: list[str]) -> AccountRow | None:
    label, site, username = values["label"], values["site"], values["username"]
    try:
        validate_label(label)
    except ValueError as exc:
        problems.append(str(exc) if label else "label is empty")
    if site not in SITE_NAMES:
        problems.append(f"unknown site {site[:32]!r} (known: {', '.join(SITE_NAMES)})")
    if not username:
        problems.append("username is empty")
    proxy = None
    if values.get("proxy"):
        try:
            proxy = parse_proxy(values["proxy"])
        except ValueError as exc:
            problems.append(str(exc))
    tags: tuple[str, ...] = ()
    try:
        tags = parse_tags(values.get("tags", ""))
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        return None
    return AccountRow(label, site, username, values.get("password") or None, proxy, tags, line)


def _line_number(problem: str) -> int:
    match = re.match(r"line (\d+):", problem)
    return int(match.group(1)) if match else 0


def close_labels(label: str, known: list[str]) -> list[str]:
    """Known labels that look like a mistyped one."""
    return difflib.get_close_matches(label, known, n=3, cutoff=0.5)


class AccountService:
    """Creates, changes and lists accounts; encrypts secrets with the database's key.

    Given the data dir, removing an account removes its screenshots and traces too.
    """

    def __init__(self, secrets: SecretBox, data_dir: Path | None = None) -> None:
        self._secrets = secrets
        self._data_dir = data_dir

    async def import_csv(self, data: bytes) -> list[str]:
        """Import an accounts CSV: every row valid and new, or nothing written."""
        rows, problems = check_accounts_csv(data)
        return await self.import_rows(rows, problems)

    async def import_rows(
        self, rows: list[AccountRow], problems: list[str] | None = None
    ) -> list[str]:
        """Create every row or none (a label already stored is a problem too)."""
        problems = list(problems or [])
        stored = await Account.filter(label__in=[r.label for r in rows]).values_list(
            "label", flat=True
        )
        taken = {str(label) for label in stored}
        problems += [
            f"line {r.line}: account {r.label!r} already exists" for r in rows if r.label in taken
        ]
        if problems:
            raise CsvImportError(sorted(problems, key=_line_number))
        async with in_transaction():
            for row in rows:
                await self._create(row)
        return [r.label for r in rows]

    async def add(self, row: AccountRow) -> None:
        """Create one account."""
        if await Account.exists(label=row.label):
            raise AccountError(f"account {row.label!r} already exists")
        async with in_transaction():
            await self._create(row)

    async def _create(self, row: AccountRow) -> Account:
        proxy = await self._proxy(row.proxy) if row.proxy else None
        return await Account.create(
            label=row.label,
            site=row.site,
            username=row.username,
            password_enc=self._secrets.encrypt(row.password) if row.password else None,
            proxy=proxy,
            tags=list(row.tags),
        )

    async def _proxy(self, spec: ProxySpec) -> Proxy:
        proxy = await Proxy.get_or_none(server=spec.server, username=spec.username)
        password_enc = self._secrets.encrypt(spec.password) if spec.password else None
        if proxy is None:
            return await Proxy.create(
                server=spec.server, username=spec.username, password_enc=password_enc
            )
        if spec.password is not None:
            proxy.password_enc = self._secrets.encrypt(spec.password)
            await proxy.save(update_fields=["password_enc"])
        return proxy

    async def get(self, label: str) -> Account:
        """The account with this label, or an error naming close matches."""
        account = await Account.get_or_none(label=label)
        if account is None:
            known = await Account.all().values_list("label", flat=True)
            hint = close_labels(label, [str(k) for k in known])
            suffix = f"; did you mean {', '.join(hint)}?" if hint else ""
            raise AccountError(f"no account labelled {label[:64]!r}{suffix}")
        return account

    async def remove(self, label: str) -> None:
        """Delete an account, its run history and its artifacts; refuse while it runs."""
        account = await self.get(label)
        if await RunItem.exists(account_id=account.id, status=ItemStatus.RUNNING):
            raise AccountError(f"account {label!r} is in a running item; cancel that run first")
        files = await account_artifacts(self._data_dir, account.id) if self._data_dir else []
        await account.delete()
        if self._data_dir:
            await remove_artifacts(self._data_dir, files)

    async def set_session(self, label: str, state: StorageState) -> int:
        """Store a session (encrypted); returns the number of cookies kept."""
        account = await self.get(label)
        account.session_state_enc = self._secrets.encrypt(json.dumps(state))
        if account.health == Health.NEEDS_LOGIN:
            account.health = Health.OK
        await account.save(update_fields=["session_state_enc", "health", "updated_at"])
        return len(state.get("cookies", []))

    async def list_accounts(self) -> list[AccountView]:
        """Every account, by label, with nothing secret in it."""
        accounts = await Account.all().order_by("label").prefetch_related("proxy")
        return [
            AccountView(
                label=a.label,
                site=a.site,
                username=a.username,
                health=str(a.health),
                proxy=_proxy_host(a.proxy) if a.proxy else None,
                tags=list(a.tags),
                last_warmup_at=a.last_warmup_at,
                has_password=a.password_enc is not None,
                has_session=a.session_state_enc is not None,
                failure_streak=a.failure_streak,
                cooldown_until=resting_until(a.cooldown_until),
            )
            for a in accounts
        ]


def _proxy_host(proxy: Proxy) -> str:
    return proxy.server

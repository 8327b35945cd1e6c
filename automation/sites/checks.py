"""What a read-only probe of a live site found: each selector or text, found or missing.

``fleetbot sites check`` and the bot's ``/check`` print these; they never post anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Found(StrEnum):
    """One probe entry's outcome."""

    FOUND = "found"
    MISSING = "missing"
    NOT_CHECKED = "not_checked"


@dataclass(frozen=True)
class Check:
    """One selector or text, where it was looked for, and the config key that overrides it."""

    name: str
    kind: str  # "selector" or "text"
    value: str
    page: str
    config_key: str
    found: Found
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The entry as ``--json`` prints it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "value": self.value,
            "page": self.page,
            "status": str(self.found),
            "config_key": self.config_key,
            "note": self.note,
        }


@dataclass
class SiteCheck:
    """A whole probe: the session's state and every entry checked."""

    site: str
    account: str
    logged_in: bool
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[Check]:
        """The entries the live site no longer has."""
        return [c for c in self.checks if c.found == Found.MISSING]

    @property
    def ok(self) -> bool:
        """Logged in and nothing missing."""
        return self.logged_in and not self.missing

    def to_json(self) -> dict[str, Any]:
        """The document ``fleetbot sites check --json`` prints."""
        return {
            "site": self.site,
            "account": self.account,
            "logged_in": self.logged_in,
            "ok": self.ok,
            "missing": [c.name for c in self.missing],
            "checks": [c.to_json() for c in self.checks],
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        """The probe as text, one line per entry, the fix next to what is missing."""
        out = [
            f"{self.site} with {self.account}: "
            + ("logged in" if self.logged_in else "NOT logged in")
        ]
        for c in self.checks:
            mark = {Found.FOUND: "ok  ", Found.MISSING: "MISS", Found.NOT_CHECKED: "--  "}[c.found]
            line = f"{mark} {c.page:<8} {c.name}: {c.value}"
            if c.found == Found.MISSING:
                line += f"  -> override with {c.config_key}"
            if c.note:
                line += f"  ({c.note})"
            out.append(line)
        out += self.notes
        return out

"""Account cool-downs: when a site rate-limits an account, runs leave it alone for a while.

Two rules, both read by the runner in one line each:

- recording a failure: a ``RateLimited`` error sets ``Account.cooldown_until`` (now plus the
  error's ``cooldown_s``); any other outcome leaves it alone;
- claiming work: an item whose account is still cooling down is not driven; it becomes
  ``skipped`` with a message saying until when, so the next run moves on to other accounts
  instead of hitting the limit again.

The database holds the cool-down, so every runner process sees it and a restart keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from automation.errors import RateLimited, SiteError
from storage.models import Account, ItemStatus, RunItem


def account_changes(error: SiteError, now: datetime) -> dict[str, Any]:
    """The Account fields a failed item's error sets: a cool-down for ``RateLimited``."""
    if isinstance(error, RateLimited) and error.cooldown_s > 0:
        return {"cooldown_until": now + timedelta(seconds=error.cooldown_s)}
    return {}


def resting_until(until: datetime | None, now: datetime | None = None) -> datetime | None:
    """until while it is still ahead (the account is cooling down), else None."""
    if until is None or until <= (now or datetime.now(UTC)):
        return None
    return until


def cooling_message(until: datetime) -> str:
    """Why an item was skipped, for the run summary and the chat."""
    return (
        f"the account is cooling down after the site's rate limit until "
        f"{until:%Y-%m-%d %H:%M} UTC; it is skipped until then"
    )


async def skip_cooling(candidates: Iterable[dict[str, Any]], now: datetime) -> dict[int, int]:
    """Mark pending candidates of cooling-down accounts ``skipped``; returns item id -> run id.

    ``candidates`` are rows with ``id``, ``run_id`` and ``account_id`` (the runner's claim
    query). An item another runner took in between is left alone (conditional update).
    """
    rows = list(candidates)
    if not rows:
        return {}
    cooling = {
        row["id"]: row["cooldown_until"]
        for row in await Account.filter(
            id__in={r["account_id"] for r in rows}, cooldown_until__gt=now
        ).values("id", "cooldown_until")
    }
    skipped: dict[int, int] = {}
    for row in rows:
        until = cooling.get(row["account_id"])
        if until is None:
            continue
        got = await RunItem.filter(id=row["id"], status=ItemStatus.PENDING).update(
            status=ItemStatus.SKIPPED,
            error_class="RateLimited",
            error_message=cooling_message(until),
            finished_at=now,
        )
        if got:
            skipped[row["id"]] = row["run_id"]
    return skipped

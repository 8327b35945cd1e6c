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

from datetime import UTC, datetime, timedelta
from typing import Any

from automation.errors import RateLimited, SiteError
from storage.models import ItemStatus, RunItem, RunStatus


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


async def skip_cooling(run_id: int | None, now: datetime) -> set[int]:
    """Mark pending items of cooling-down accounts ``skipped``; returns their run ids.

    Only items of ``run_id`` when given (a foreground run), else of every claimable run.
    Each update is conditional, so an item another runner took in between is left alone.
    """
    query = RunItem.filter(
        status=ItemStatus.PENDING,
        run__status__in=RunStatus.claimable(),
        account__cooldown_until__gt=now,
    )
    if run_id is not None:
        query = query.filter(run_id=run_id)
    rows = await query.values("id", "run_id", "account__cooldown_until")
    runs: set[int] = set()
    for row in rows:
        got = await RunItem.filter(id=row["id"], status=ItemStatus.PENDING).update(
            status=ItemStatus.SKIPPED,
            error_class="RateLimited",
            error_message=cooling_message(row["account__cooldown_until"]),
            finished_at=now,
        )
        if got:
            runs.add(row["run_id"])
    return runs

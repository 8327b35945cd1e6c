"""What an item's outcome means for its row and its account, and the one write that stores it.

The rules are pure functions of the outcome, the attempt number and the clock, so they are
tested without a browser or a database::

    outcome                               item row                       account row
    success                               succeeded, result              health ok, streak 0,
                                                                         session saved
    transient error, attempts left        pending, not_before=backoff    (untouched)
    no browser could be started           pending, not_before=backoff,   (untouched)
                                          attempt not counted
    transient error on the last attempt   failed                         streak + 1
    permanent error                       failed                         streak + 1, health
                                                                         the error implies
    run cancelled while running           cancelled                      (untouched)
    runner shut down while running        pending, attempt not counted   (untouched)
    runner died (found by recovery)       pending; failed "Interrupted"  (lease released
                                          on the last allowed attempt    separately)

Every row change also clears the lease. ``store`` writes an item's and its account's
changes in one short transaction, guarded by the lease owner, so a runner that lost its
lease (another process recovered the item) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from automation import cooldown
from automation.errors import BrowserUnavailable, SiteError, TransientSiteError
from automation.sites.base import PostRef, WarmupReport, result_of
from storage.models import Account, Health, ItemStatus, RunItem

_RELEASED = {"lease_owner": None, "lease_until": None}


@dataclass(frozen=True)
class Success:
    """The adapter finished; ``state`` is the refreshed session, encrypted, if any."""

    value: WarmupReport | PostRef
    state_enc: str | None = field(default=None, repr=False)


@dataclass
class Failure:
    """The attempt failed with ``error``; artifacts are paths under the data dir."""

    error: SiteError
    screenshot: str | None = None
    trace: str | None = None


@dataclass(frozen=True)
class Changes:
    """Column changes for one item and its account, and what the item's event says."""

    item: dict[str, Any]
    account: dict[str, Any]
    event: str  # succeeded | failed | retrying | cancelled | pending


def will_retry(error: SiteError, attempts: int, max_attempts: int) -> bool:
    """Whether a failed attempt is tried again: transient errors, while attempts remain,
    and always when no browser was there to attempt anything."""
    if isinstance(error, BrowserUnavailable):
        return True
    return isinstance(error, TransientSiteError) and attempts < max_attempts


def backoff(attempts: int, base_s: float, max_s: float, jitter: float) -> timedelta:
    """The wait before the next attempt: base * 2^(attempts-1), capped, times jitter.

    ``jitter`` is drawn from [0.5, 1.5] by the caller, so many items failing together do
    not come back together.
    """
    delay = min(max_s, base_s * 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * jitter)


def success_changes(outcome: Success, now: datetime) -> Changes:
    """An item that succeeded: store its result and refresh its account."""
    account: dict[str, Any] = {"health": Health.OK, "failure_streak": 0, **_RELEASED}
    if outcome.state_enc is not None:
        account["session_state_enc"] = outcome.state_enc
    if isinstance(outcome.value, WarmupReport):
        account["last_warmup_at"] = now
    item = {
        "status": ItemStatus.SUCCEEDED,
        "result": result_of(outcome.value),
        "error_class": None,
        "error_message": None,
        "not_before": None,
        "finished_at": now,
        **_RELEASED,
    }
    return Changes(item, account, "succeeded")


def failure_changes(
    failure: Failure, attempts: int, max_attempts: int, now: datetime, delay: timedelta
) -> Changes:
    """An attempt that failed: retry after ``delay`` or fail for good, per ``will_retry``."""
    error = failure.error
    item: dict[str, Any] = {
        "error_class": type(error).__name__,
        "error_message": str(error)[:2000],
        "screenshot_path": failure.screenshot,
        "trace_path": failure.trace,
        **_RELEASED,
    }
    account: dict[str, Any] = dict(_RELEASED)
    if will_retry(error, attempts, max_attempts):
        item |= {"status": ItemStatus.PENDING, "not_before": now + delay}
        if isinstance(error, BrowserUnavailable):
            item["attempts"] = F("attempts") - 1
        return Changes(item, account, "retrying")
    item |= {"status": ItemStatus.FAILED, "finished_at": now}
    account["failure_streak"] = F("failure_streak") + 1
    if error.health is not None:
        account["health"] = Health(error.health)
    account |= cooldown.account_changes(error, now)  # a rate limit rests the account
    return Changes(item, account, "failed")


def crashed_changes(error: SiteError, now: datetime) -> Changes:
    """An item whose attempt hit a bug of ours: failed for good, never left running.

    Not retried (the same bug would strike again) and not held against the account.
    """
    item: dict[str, Any] = {
        "status": ItemStatus.FAILED,
        "error_class": type(error).__name__,
        "error_message": str(error)[:2000],
        "finished_at": now,
        **_RELEASED,
    }
    return Changes(item, dict(_RELEASED), "failed")


def interrupted_changes(cancelled: bool, now: datetime) -> Changes:
    """An item stopped while running: its run was cancelled, or this runner is stopping.

    A shutdown does not count the attempt: the item goes back to pending as it was.
    """
    if cancelled:
        done = {"status": ItemStatus.CANCELLED, "finished_at": now, **_RELEASED}
        return Changes(done, dict(_RELEASED), "cancelled")
    item: dict[str, Any] = {
        "status": ItemStatus.PENDING,
        "attempts": F("attempts") - 1,
        **_RELEASED,
    }
    return Changes(item, dict(_RELEASED), "pending")


def abandoned_changes(attempts: int, max_attempts: int, now: datetime) -> dict[str, Any]:
    """An item whose runner died: back to pending, or failed if that was its last attempt."""
    if attempts >= max_attempts:
        return {
            "status": ItemStatus.FAILED,
            "error_class": "Interrupted",
            "error_message": "the runner stopped during the last allowed attempt",
            "finished_at": now,
            **_RELEASED,
        }
    return {"status": ItemStatus.PENDING, "not_before": None, **_RELEASED}


async def store(item_id: int, account_id: int, owner: str, changes: Changes) -> bool:
    """Write an item's and its account's changes together; False if the lease was lost.

    True also when these very changes are there already: a COMMIT can reach the server
    and its answer never come back (a server that hangs, a query timeout), and the retry
    of that write must not read as a lost lease. Changes that end or postpone an attempt
    carry the time they were made, which no other outcome shares.
    """
    async with in_transaction():
        got = await RunItem.filter(id=item_id, lease_owner=owner).update(**changes.item)
        await Account.filter(id=account_id, lease_owner=owner).update(**changes.account)
    return bool(got) or await _already_stored(item_id, changes)


async def _already_stored(item_id: int, changes: Changes) -> bool:
    stamps = {
        column: changes.item[column]
        for column in ("finished_at", "not_before")
        if changes.item.get(column) is not None
    }
    if not stamps:
        return False
    return await RunItem.filter(
        id=item_id, lease_owner=None, status=changes.item["status"], **stamps
    ).exists()

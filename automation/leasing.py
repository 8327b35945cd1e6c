"""Every query on lease columns: claim items, renew, recover abandoned ones, release.

A runner owns an item while ``RunItem.lease_owner`` names it and ``lease_until`` is in the
future, and it owns the item's account the same way, so one account is driven by one item
at a time across every run and every process. Each change is one conditional UPDATE whose
WHERE names the expected owner or status: two runners racing for a row cannot both win.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q

from automation.leases import owner_is_dead
from automation.outcomes import abandoned_changes
from storage.health import STORAGE_ERRORS
from storage.models import Account, ItemStatus, Run, RunItem, RunStatus

log = logging.getLogger(__name__)


def _never_started() -> dict[str, Any]:
    """An item this runner leased without knowing it: back to pending, attempt uncounted."""
    return {
        "status": ItemStatus.PENDING,
        "not_before": None,
        "attempts": F("attempts") - 1,
        "lease_owner": None,
        "lease_until": None,
    }


def utcnow() -> datetime:
    """Now, timezone-aware."""
    return datetime.now(UTC)


@dataclass
class Claimed:
    """An item this runner leased, with the account it leased for it."""

    item_id: int
    account_id: int
    run_id: int
    started: float = field(default_factory=time.monotonic)


class Leases:
    """The lease queries of one runner, named by its ``owner`` string."""

    def __init__(self, owner: str, lease_s: float, max_attempts: int) -> None:
        self.owner = owner
        self._lease_s = lease_s
        self._max_attempts = max_attempts
        self._unsure: set[int] = set()  # items whose lease UPDATE failed: taken or not?

    async def claim(self, run_id: int | None, free: int, busy: set[int]) -> list[Claimed]:
        """Lease up to ``free`` due pending items (of ``run_id`` only, when given).

        Skips accounts in ``busy`` (driven by this runner) and, within a run, any item
        whose account has an earlier item still open: an account's videos go in order.
        """
        now = utcnow()
        query = RunItem.filter(
            Q(not_before__isnull=True) | Q(not_before__lte=now),
            status=ItemStatus.PENDING,
            run__status__in=RunStatus.claimable(),
        )
        if run_id is not None:
            query = query.filter(run_id=run_id)
        candidates = (
            await query.order_by("run_id", "position", "id")
            .limit(free * 4 + 16)
            .values("id", "run_id", "account_id", "position")
        )
        if not candidates:
            return []
        first_open = await self._first_open_positions(
            {c["run_id"] for c in candidates}, {c["account_id"] for c in candidates}
        )
        busy = set(busy)
        claimed: list[Claimed] = []
        for cand in candidates:
            account_id = cand["account_id"]
            if len(claimed) >= free or account_id in busy:
                continue
            if first_open.get((cand["run_id"], account_id)) != cand["position"]:
                continue
            if await self._lease(cand["id"], account_id, cand["run_id"], now):
                busy.add(account_id)
                claimed.append(Claimed(cand["id"], account_id, cand["run_id"]))
        return claimed

    async def _first_open_positions(
        self, run_ids: set[int], account_ids: set[int]
    ) -> dict[tuple[int, int], int]:
        # Only the candidates' accounts: reading every open item of a large run at every
        # claim would make a run's cost grow with the square of its size.
        rows = await RunItem.filter(
            run_id__in=run_ids, account_id__in=account_ids, status__in=ItemStatus.open()
        ).values("run_id", "account_id", "position")
        first: dict[tuple[int, int], int] = {}
        for row in rows:
            key = (row["run_id"], row["account_id"])
            first[key] = min(first.get(key, row["position"]), row["position"])
        return first

    async def _lease(self, item_id: int, account_id: int, run_id: int, now: datetime) -> bool:
        until = now + timedelta(seconds=self._lease_s)
        got = await Account.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now), id=account_id
        ).update(lease_owner=self.owner, lease_until=until)
        if not got:
            return False
        try:
            got = await RunItem.filter(id=item_id, status=ItemStatus.PENDING).update(
                status=ItemStatus.RUNNING,
                lease_owner=self.owner,
                lease_until=until,
                attempts=F("attempts") + 1,
                started_at=now,
            )
            if got:
                await Run.filter(id=run_id, status=RunStatus.QUEUED).update(
                    status=RunStatus.RUNNING, started_at=now
                )
        except STORAGE_ERRORS:
            # The UPDATE may have been committed with its answer lost (a server that hung or
            # dropped the connection after it): recovery puts the item back uncounted.
            self._unsure.add(item_id)
            raise
        if not got:
            await self.release_account(account_id)
            return False
        return True

    async def held(self, item_id: int) -> RunItem | None:
        """The item with what an attempt reads, if this runner still holds its lease.

        A lease that ran out (a database away for longer than ``lease_s``) is not held,
        even before anyone took the item: recovery may hand it to another runner at any
        moment, and two runners must never drive one account at once.
        """
        return await RunItem.get_or_none(
            id=item_id,
            status=ItemStatus.RUNNING,
            lease_owner=self.owner,
            lease_until__gt=utcnow(),
        ).prefetch_related("run", "account", "account__proxy", "video")

    async def release_account(self, account_id: int) -> None:
        """Give up this runner's lease on an account."""
        await Account.filter(id=account_id, lease_owner=self.owner).update(
            lease_owner=None, lease_until=None
        )

    async def renew(self, item_ids: list[int]) -> None:
        """Push the leases of the items (and accounts) this runner drives forward."""
        until = utcnow() + timedelta(seconds=self._lease_s)
        await RunItem.filter(id__in=item_ids, lease_owner=self.owner).update(lease_until=until)
        await Account.filter(lease_owner=self.owner).update(lease_until=until)

    async def recover_items(self, driving: set[int]) -> tuple[int, set[int]]:
        """Put back running items nobody drives; returns (how many, runs with items failed).

        An item is abandoned when its runner died or its lease ran out, or when it is this
        runner's but not in ``driving`` (its task ended without storing an outcome).
        """
        now = utcnow()
        unsure = set(self._unsure)
        rows = await RunItem.filter(status=ItemStatus.RUNNING).values(
            "id", "run_id", "lease_owner", "lease_until", "attempts"
        )
        recovered, failed_runs = 0, set()
        for row in rows:
            if not self._abandoned(
                row["id"], row["lease_owner"] or "", row["lease_until"], now, driving
            ):
                continue
            if row["id"] in unsure and row["lease_owner"] == self.owner:
                changes = _never_started()  # leased by a claim whose answer was lost
            else:
                changes = abandoned_changes(row["attempts"], self._max_attempts, now)
            got = await RunItem.filter(
                id=row["id"], status=ItemStatus.RUNNING, lease_owner=row["lease_owner"]
            ).update(**changes)
            recovered += got
            if got and changes["status"] == ItemStatus.FAILED:
                failed_runs.add(row["run_id"])
        self._unsure -= unsure  # each is back to pending now, or was never leased
        return recovered, failed_runs

    def _abandoned(
        self, item_id: int, owner: str, until: datetime | None, now: datetime, driving: set[int]
    ) -> bool:
        if owner == self.owner:
            return item_id not in driving
        return until is None or until < now or owner_is_dead(owner, self.owner)

    async def release_abandoned_accounts(self, driving: set[int]) -> None:
        """Release account leases whose holder died, expired, or is this runner idle."""
        now = utcnow()
        for account in await Account.filter(lease_owner__isnull=False).values(
            "id", "lease_owner", "lease_until"
        ):
            owner = account["lease_owner"]
            if owner == self.owner:
                stale = account["id"] not in driving
            else:
                stale = account["lease_until"] < now or owner_is_dead(owner, self.owner)
            if stale:
                await Account.filter(id=account["id"], lease_owner=owner).update(
                    lease_owner=None, lease_until=None
                )

    @staticmethod
    async def unsettled_runs() -> list[int]:
        """Claimable runs with no open item left: their last outcome is stored but the
        settling failed (two queries, one row per open run, however many items are open)."""
        open_runs = {
            row["id"]
            for row in await Run.filter(
                finished_at__isnull=True, status__in=RunStatus.claimable()
            ).values("id")
        }
        if not open_runs:
            return []
        busy = {
            row["run_id"]
            for row in await RunItem.filter(run_id__in=open_runs, status__in=ItemStatus.open())
            .distinct()
            .values("run_id")
        }
        return sorted(open_runs - busy)

    @staticmethod
    async def cancelled_among(item_ids: list[int]) -> list[int]:
        """Which of these items belong to cancelled runs."""
        if not item_ids:
            return []
        rows: list[dict[str, Any]] = await RunItem.filter(
            id__in=item_ids, run__status=RunStatus.CANCELLED
        ).values("id")
        return [row["id"] for row in rows]

    @staticmethod
    async def run_open(run_id: int) -> bool:
        """Whether a run still has pending or running items."""
        return await RunItem.exists(run_id=run_id, status__in=ItemStatus.open())

"""Which runners are alive, and what each one is doing: a heartbeat row per runner.

Every runner (in ``serve``, a ``fleetbot worker``, a foreground ``fleetbot run``) upserts
one ``setting`` row with its host, pid, concurrency level and items in flight when its level
changes and at every lease renewal, and deletes it when it stops. A row whose owner is
provably dead (same host, process gone) or whose heartbeat is older than a few leases is
not live; a runner starting cleans up dead rows. ``fleetbot runs show`` and ``/status`` read
these rows, so they see runners of every process and machine sharing the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from automation.leases import owner_is_dead
from storage.models import ItemStatus, RunItem, Setting

_KEY_PREFIX = "concurrency:"


@dataclass(frozen=True)
class PublishedLevel:
    """A runner as it last described itself."""

    owner: str
    level: int
    auto: bool
    max_level: int
    in_flight: int = 0
    heartbeat: datetime | None = None

    @property
    def host(self) -> str:
        """The machine the runner runs on (``leases.new_owner``: host:pid:start:token)."""
        return self.owner.split(":")[0]

    @property
    def pid(self) -> str:
        """The runner's process id on its host."""
        return [*self.owner.split(":"), "?"][1]

    def describe(self, now: datetime | None = None) -> str:
        """One line, e.g. ``runner 4242@host: concurrency 3 (auto, up to 8), 2 in flight,
        heartbeat 4s ago``; the last two only once the runner has sent a heartbeat."""
        mode = f" (auto, up to {self.max_level})" if self.auto else ""
        line = f"runner {self.pid}@{self.host}: concurrency {self.level}{mode}"
        if self.heartbeat is not None:
            age = ((now or datetime.now(UTC)) - self.heartbeat).total_seconds()
            line += f", {self.in_flight} in flight, heartbeat {max(0, round(age))}s ago"
        return line


def _key(owner: str) -> str:
    # Lease owners embed the host name and can outgrow the 64-character key column.
    return _KEY_PREFIX + hashlib.sha256(owner.encode()).hexdigest()[:32]


def _decode(owner: str, value: str) -> PublishedLevel:
    data = json.loads(value)
    beat = data.get("heartbeat")
    return PublishedLevel(
        owner,
        int(data["level"]),
        bool(data["auto"]),
        int(data["max"]),
        int(data.get("in_flight", 0)),
        datetime.fromisoformat(beat) if beat else None,
    )


async def publish_level(level: PublishedLevel) -> None:
    """Store a runner's state with a fresh heartbeat (one small upsert)."""
    value = json.dumps(
        {
            "owner": level.owner,
            "level": level.level,
            "auto": level.auto,
            "max": level.max_level,
            "in_flight": level.in_flight,
            "heartbeat": datetime.now(UTC).isoformat(),
        }
    )
    await Setting.update_or_create(key=_key(level.owner), defaults={"value": value})


async def withdraw_level(owner: str) -> None:
    """Forget a stopped runner."""
    await Setting.filter(key=_key(owner)).delete()


async def withdraw_dead_levels(me: str) -> int:
    """Forget runners that died without withdrawing themselves; returns how many."""
    rows = await Setting.filter(key__startswith=_KEY_PREFIX).values("key", "value")
    dead = [row["key"] for row in rows if owner_is_dead(json.loads(row["value"])["owner"], me)]
    if dead:
        await Setting.filter(key__in=dead).delete()
    return len(dead)


async def published_levels(owners: Iterable[str]) -> list[PublishedLevel]:
    """What these runners published, in the order given; unknown owners are skipped."""
    wanted = {_key(owner): owner for owner in owners}
    rows = await Setting.filter(key__in=list(wanted)).values("key", "value")
    found = {row["key"]: _decode(wanted[row["key"]], row["value"]) for row in rows}
    return [found[key] for key in wanted if key in found]


async def levels_for_run(run_id: int) -> list[PublishedLevel]:
    """The runners holding this run's running items right now."""
    owners = await (
        RunItem.filter(run_id=run_id, status=ItemStatus.RUNNING, lease_owner__isnull=False)
        .distinct()
        .values_list("lease_owner", flat=True)
    )
    return await published_levels(sorted({str(owner) for owner in owners}))


async def live_runners(stale_after_s: float) -> list[PublishedLevel]:
    """Every runner whose heartbeat is under ``stale_after_s`` old, by host and pid."""
    rows = await Setting.filter(key__startswith=_KEY_PREFIX).values("value")
    oldest = datetime.now(UTC) - timedelta(seconds=stale_after_s)
    runners = [_decode(json.loads(row["value"])["owner"], row["value"]) for row in rows]
    live = [r for r in runners if r.heartbeat is not None and r.heartbeat >= oldest]
    return sorted(live, key=lambda r: (r.host, r.pid))

"""The runner loop: claim pending items, drive each in its own task, store each outcome.

Lifecycle of one item (see docs/ARCHITECTURE.md)::

    pending --claim (account lease + item lease)--> running --adapter--> succeeded
                                                       |                  failed (permanent,
                                                       |                    or out of attempts)
                                                       +--transient--> pending (not_before)
                                                       +--run cancelled--> cancelled
                                                       +--shutdown/crash--> pending

The runner composes three parts and owns only the loop and its tasks: ``leasing.Leases``
(every lease query), ``attempt.Attempts`` (one item in a browser context; the only
Playwright code) and ``outcomes`` (what an outcome changes, written in one short
transaction). No transaction spans a browser await. The only in-memory state is the set of
tasks running right now, and each is also a leased row that another process can recover.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from automation import cooldown
from automation.attempt import Attempts
from automation.autoscale import Autoscaler, Limits
from automation.browser import BrowserPool
from automation.config import AutomationConfig, SitesConfig
from automation.errors import SiteError
from automation.leases import new_owner
from automation.leasing import Claimed, Leases, utcnow
from automation.outcomes import (
    Changes,
    Failure,
    Success,
    backoff,
    crashed_changes,
    failure_changes,
    interrupted_changes,
    store,
    success_changes,
)
from automation.presence import (
    PublishedLevel,
    publish_level,
    withdraw_dead_levels,
    withdraw_level,
)
from automation.reporting import ItemEvent, NoOperator, NullReporter, Operator, Reporter
from automation.runs import RunService
from automation.sites.base import result_of
from storage.crypto import SecretBox
from storage.health import RETRY_MAX_S, STORAGE_ERRORS, StorageHealth
from storage.models import RunItem

log = logging.getLogger(__name__)

POLL_S = 0.5


class Runner:
    """Runs items with bounded concurrency, one item per account at a time."""

    def __init__(
        self,
        *,
        config: AutomationConfig,
        sites: SitesConfig,
        pool: BrowserPool,
        secrets: SecretBox,
        runs: RunService,
        artifacts_dir: Path,
        reporter: Reporter | None = None,
        operator: Operator | None = None,
        health: StorageHealth | None = None,
    ) -> None:
        self._config = config
        self._runs = runs
        self._reporter: Reporter = reporter or NullReporter()
        self.health = health or StorageHealth()
        self.owner = new_owner()
        self._leases = Leases(self.owner, config.lease_s, config.max_attempts)
        self._attempts = Attempts(
            config=config,
            sites=sites,
            pool=pool,
            secrets=secrets,
            video_path=runs.video_path,
            artifacts_dir=artifacts_dir,
            operator=operator or NoOperator(),
        )
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._claimed: dict[int, Claimed] = {}
        self._cancelling: set[int] = set()
        self._wake = asyncio.Event()
        self._heartbeat: asyncio.Task[None] | None = None
        self._started = False
        self._rng = random.Random()
        self.autoscaler: Autoscaler | None = None
        self._published_level: int | None = None
        if config.concurrency == "auto":
            self.autoscaler = Autoscaler(
                config.max_concurrency,
                limits=Limits.for_browsers(config),
                demand=lambda: len(self._tasks) >= self.concurrency,
            )
            self.concurrency = self.autoscaler.level
        else:
            self.concurrency = config.concurrency

    @property
    def in_flight(self) -> int:
        """Items this runner is driving right now."""
        return len(self._tasks)

    @property
    def lease_s(self) -> float:
        """How long a lease of this runner lasts without a heartbeat."""
        return self._config.lease_s

    async def __aenter__(self) -> Self:
        if self._started:
            raise RuntimeError("runner already started")
        self._started = True
        await self.recover()
        await withdraw_dead_levels(self.owner)
        await self._publish_level()
        self._heartbeat = asyncio.create_task(self._renew_leases(), name="runner-heartbeat")
        if self.autoscaler is not None:
            await self.autoscaler.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def wake(self) -> None:
        """Look for new work now instead of at the next poll."""
        self._wake.set()

    async def stop(self, grace_s: float = 0) -> None:
        """Let running items finish for up to grace_s, then put the rest back to pending."""
        if self._tasks and grace_s > 0:
            await asyncio.wait(list(self._tasks.values()), timeout=grace_s)
        for task in list(self._tasks.values()):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()))
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        if self.autoscaler is not None:
            await self.autoscaler.__aexit__(None, None, None)
        if self._published_level is not None:
            self._published_level = None
            try:
                await asyncio.shield(withdraw_level(self.owner))
            except Exception:  # harmless: its heartbeat goes stale and it stops being listed
                log.warning("could not withdraw this runner's heartbeat row", exc_info=True)

    async def run_until_settled(self, run_id: int) -> None:
        """Drive one run's items (and only those) until every one is final."""
        await self._loop(run_id)

    async def serve(self) -> None:
        """Drive every claimable run's items until cancelled."""
        await self._loop(None)

    async def _loop(self, run_id: int | None) -> None:
        next_recovery = time.monotonic() + self._config.lease_s / 2
        pause = POLL_S
        while True:
            self._wake.clear()
            try:
                if time.monotonic() >= next_recovery:
                    await self.recover()
                    next_recovery = time.monotonic() + self._config.lease_s / 2
                if await self._step(run_id):
                    return
                pause = POLL_S
            except STORAGE_ERRORS as exc:  # the database failed: keep what runs, retry
                self.health.failed("looking for work", exc)
                pause = min(RETRY_MAX_S, pause * 2)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._wake.wait()

    async def _step(self, run_id: int | None) -> bool:
        """One look for work; True once ``run_id`` (when given) has settled."""
        await self._stop_cancelled_items()
        if self.autoscaler is not None:
            self.concurrency = self.autoscaler.level
        if self.concurrency != self._published_level:
            await self._publish_level()
        free = self.concurrency - len(self._tasks)
        if free > 0:
            for claimed in await self._claim(run_id, free):
                self._start(claimed)
        if run_id is not None and not self._tasks and not await self._leases.run_open(run_id):
            await self._settle(run_id)
            return True
        return False

    async def _publish_level(self) -> None:
        """Tell other processes (`runs show`, /status) this runner's level and load."""
        level = PublishedLevel(
            self.owner,
            self.concurrency,
            self.autoscaler is not None,
            self._config.max_concurrency if self.autoscaler is not None else self.concurrency,
            in_flight=len(self._tasks),
        )
        await publish_level(level)
        self._published_level = self.concurrency

    async def _claim(self, run_id: int | None, free: int) -> list[Claimed]:
        for resting_run in await cooldown.skip_cooling(run_id, utcnow()):  # rate-limited
            await self._settle(resting_run)
        busy = {claimed.account_id for claimed in self._claimed.values()}
        claimed = await self._leases.claim(run_id, free, busy)
        if claimed:
            self.health.ok()
        return claimed

    def _start(self, claimed: Claimed) -> None:
        task = asyncio.create_task(self._run_item(claimed), name=f"item-{claimed.item_id}")
        self._tasks[claimed.item_id] = task
        self._claimed[claimed.item_id] = claimed

        def _done(finished: asyncio.Task[None]) -> None:
            self._tasks.pop(claimed.item_id, None)
            self._claimed.pop(claimed.item_id, None)
            self._wake.set()
            if not finished.cancelled() and (exc := finished.exception()) is not None:
                log.error("item %d crashed the runner task", claimed.item_id, exc_info=exc)

        task.add_done_callback(_done)

    # -- recovery and leases ----------------------------------------------------------

    async def recover(self) -> int:
        """Put items of dead runners back to pending; returns how many were recovered."""
        recovered, failed_runs = await self._leases.recover_items(set(self._claimed))
        for run_id in sorted(failed_runs):
            await self._settle(run_id)
        await self._leases.release_abandoned_accounts(
            {claimed.account_id for claimed in self._claimed.values()}
        )
        if recovered:
            log.info("recovered %d item(s) no runner was driving", recovered)
        for run_id in await self._leases.unsettled_runs():
            await self._settle(run_id)
        return recovered

    async def _renew_leases(self) -> None:
        """The heartbeat: renew what this runner holds and say it is alive."""
        interval = self._config.lease_s / 3
        while True:
            await asyncio.sleep(interval)
            try:
                if self._claimed:
                    await self._leases.renew(list(self._claimed))
                await self._publish_level()
            except STORAGE_ERRORS as exc:
                self.health.failed("renewing leases", exc)
            else:
                self.health.ok()

    async def _stop_cancelled_items(self) -> None:
        for item_id in await self._leases.cancelled_among(list(self._claimed)):
            task = self._tasks.get(item_id)
            if task is not None and item_id not in self._cancelling:
                self._cancelling.add(item_id)
                task.cancel()

    # -- one item ---------------------------------------------------------------------

    async def _run_item(self, claimed: Claimed) -> None:
        try:
            await self._attempt(claimed)
        except asyncio.CancelledError:  # run cancelled, or this runner stops
            cancelled = claimed.item_id in self._cancelling
            changes = interrupted_changes(cancelled, utcnow())
            await asyncio.shield(self._store_at_once(claimed, changes, settle=cancelled))
            raise
        except STORAGE_ERRORS as exc:  # could not even read the item: recovery redoes it
            self.health.failed(f"starting item {claimed.item_id}", exc)
        except Exception as exc:  # a bug of ours: record it, never leave the row running
            log.error("item %d: unexpected error in the runner", claimed.item_id, exc_info=exc)
            error = SiteError(f"unexpected {type(exc).__name__} in the runner (see the log)")
            await self._store_at_once(claimed, crashed_changes(error, utcnow()), settle=True)
        finally:
            self._cancelling.discard(claimed.item_id)

    async def _store_at_once(self, claimed: Claimed, changes: Changes, *, settle: bool) -> None:
        """One try to store an item's end; if the database fails, recovery redoes it."""
        try:
            await store(claimed.item_id, claimed.account_id, self.owner, changes)
        except STORAGE_ERRORS as exc:  # its lease runs out and recovery puts it back
            self.health.failed(f"recording item {claimed.item_id}", exc)
            return
        if settle:
            await self._settle(claimed.run_id)

    async def _attempt(self, claimed: Claimed) -> None:
        doing = f"starting item {claimed.item_id}"  # an outage costs the item no attempt
        item = await self.health.until_stored(doing, lambda: self._leases.held(claimed.item_id))
        if item is None:  # recovered by another runner while the database was away
            return
        await self._emit(item, self._event(item, "running"))
        outcome = await self._attempts.drive(item)
        now = utcnow()
        if isinstance(outcome, Success):
            changes = success_changes(outcome, now)
        else:
            delay = backoff(
                item.attempts,
                self._config.backoff_base_s,
                self._config.backoff_max_s,
                self._rng.uniform(0.5, 1.5),
            )
            changes = failure_changes(
                outcome, item.attempts, self._config.max_attempts, now, delay
            )
        await self._record(item, outcome, changes)

    async def _record(self, item: RunItem, outcome: Success | Failure, changes: Changes) -> None:
        """Store an outcome (retrying while the database fails), then report and settle."""

        async def write() -> bool:
            return await store(item.id, item.account_id, self.owner, changes)

        if not await self.health.until_stored(f"recording item {item.id}", write):
            log.warning("item %d: lease lost before its outcome was recorded", item.id)
            return
        if isinstance(outcome, Success):
            event = self._event(item, changes.event, result=result_of(outcome.value))
        else:
            error = outcome.error
            log.info(
                "item %d (%s) attempt %d: %s: %s%s",
                item.id,
                item.account.label,
                item.attempts,
                type(error).__name__,
                error,
                " (will retry)" if changes.event == "retrying" else "",
            )
            event = self._event(item, changes.event, error=f"{type(error).__name__}: {error}")
        await self._emit(item, event)
        if changes.event != "retrying":
            await self._settle(item.run_id)

    @staticmethod
    def _event(
        item: RunItem,
        status: str,
        *,
        error: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> ItemEvent:
        video = item.video.original_name if item.video else None
        return ItemEvent(
            item.run_id, item.id, item.account.label, status, item.attempts, video, error, result
        )

    async def _emit(self, item: RunItem, event: ItemEvent) -> None:
        try:
            progress = await self._runs.progress(item.run)
            await self._reporter.item_event(event, progress)
        except STORAGE_ERRORS as exc:
            self.health.failed(f"reporting item {item.id}", exc)
        except Exception:
            log.exception("reporter failed on an item event (the outcome is stored)")

    async def _settle(self, run_id: int) -> None:
        try:
            summary = await self._runs.settle(run_id)
        except STORAGE_ERRORS as exc:  # the recovery pass settles it later
            self.health.failed(f"settling run {run_id}", exc)
            return
        if summary is None:
            return
        try:
            await self._reporter.run_finished(summary)
        except Exception:
            log.exception("reporter failed on a run summary (the outcome is stored)")

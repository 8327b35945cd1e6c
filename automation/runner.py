"""The runner: claims pending items, drives the browser, commits each outcome at once.

Lifecycle of one item (see docs/ARCHITECTURE.md)::

    pending --claim (account lease + item lease)--> running --adapter--> succeeded
                                                       |                  failed (permanent,
                                                       |                    or out of attempts)
                                                       +--transient--> pending (not_before)
                                                       +--run cancelled--> cancelled
                                                       +--shutdown/crash--> pending

Every state change is one short write; no transaction spans a browser await. The only
in-memory state is the set of tasks this process is running right now, and every one of
them is also a leased row in the database that another process can recover.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from automation import cooldown
from automation.autoscale import (
    Autoscaler,
    PublishedLevel,
    publish_level,
    withdraw_dead_levels,
    withdraw_level,
)
from automation.browser import BrowserPool, ProxySettings
from automation.config import AutomationConfig, SitesConfig
from automation.errors import (
    BrowserCrashed,
    ItemTimeout,
    SiteError,
    TransientSiteError,
    VerificationRequired,
)
from automation.leases import new_owner, owner_is_dead
from automation.reporting import ItemEvent, NoOperator, NullReporter, Operator, Question, Reporter
from automation.runs import RunService
from automation.sites import build_adapter
from automation.sites.base import (
    Credentials,
    ItemContext,
    PostRef,
    SiteAdapter,
    VideoToUpload,
    WarmupReport,
    result_of,
)
from storage.crypto import SecretBox
from storage.health import RETRY_MAX_S, STORAGE_ERRORS, StorageHealth
from storage.models import Account, Health, ItemStatus, Run, RunItem, RunKind, RunStatus

log = logging.getLogger(__name__)

POLL_S = 0.5
_CLAIMABLE_RUNS = (RunStatus.QUEUED, RunStatus.RUNNING)
_OPEN_ITEMS = (ItemStatus.PENDING, ItemStatus.RUNNING)


def utcnow() -> datetime:
    """Now, timezone-aware."""
    return datetime.now(UTC)


@dataclass
class _Failure:
    error: SiteError
    screenshot: str | None = None
    trace: str | None = None


@dataclass
class _Claimed:
    item_id: int
    account_id: int
    run_id: int
    started: float = field(default_factory=time.monotonic)


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
        self._sites = sites
        self._pool = pool
        self._secrets = secrets
        self._runs = runs
        self._artifacts = artifacts_dir
        self._reporter: Reporter = reporter or NullReporter()
        self._operator: Operator = operator or NoOperator()
        self.health = health or StorageHealth()
        self.owner = new_owner()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._claimed: dict[int, _Claimed] = {}
        self._cancelling: set[int] = set()
        self._wake = asyncio.Event()
        self._heartbeat: asyncio.Task[None] | None = None
        self._started = False
        self._rng = random.Random()
        self._adapters: dict[str, SiteAdapter] = {}
        self.autoscaler: Autoscaler | None = None
        self._published_level: int | None = None
        if config.concurrency == "auto":
            self.autoscaler = Autoscaler(
                config.max_concurrency, demand=lambda: len(self._tasks) >= self.concurrency
            )
            self.concurrency = self.autoscaler.level
        else:
            self.concurrency = config.concurrency

    @property
    def in_flight(self) -> int:
        """Items this runner is driving right now."""
        return len(self._tasks)

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
            except Exception:  # a stale level is harmless: `runs show` reads live leases only
                log.warning("could not withdraw this runner's published level", exc_info=True)

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
        if run_id is not None and not self._tasks and await self._run_done(run_id):
            await self._settle(run_id)
            return True
        return False

    async def _publish_level(self) -> None:
        """Let other processes (`fleetbot runs show`) see this runner's level; on change only."""
        level = PublishedLevel(
            self.owner,
            self.concurrency,
            self.autoscaler is not None,
            self._config.max_concurrency if self.autoscaler is not None else self.concurrency,
        )
        await publish_level(level)
        self._published_level = self.concurrency

    async def _run_done(self, run_id: int) -> bool:
        return not await RunItem.exists(run_id=run_id, status__in=_OPEN_ITEMS)

    # -- claiming ---------------------------------------------------------------------

    async def _claim(self, run_id: int | None, free: int) -> list[_Claimed]:
        now = utcnow()
        query = RunItem.filter(
            Q(not_before__isnull=True) | Q(not_before__lte=now),
            status=ItemStatus.PENDING,
            run__status__in=_CLAIMABLE_RUNS,
        )
        if run_id is not None:
            query = query.filter(run_id=run_id)
        candidates = (
            await query.order_by("run_id", "position", "id")
            .limit(free * 4 + 16)
            .values("id", "run_id", "account_id", "position")
        )
        skipped = await cooldown.skip_cooling(candidates, now)  # a rate-limited account rests
        for skipped_run in set(skipped.values()):
            await self._settle(skipped_run)
        candidates = [c for c in candidates if c["id"] not in skipped]
        if not candidates:
            return []
        first_open = await self._first_open_positions({c["run_id"] for c in candidates})
        busy = {c.account_id for c in self._claimed.values()}
        claimed: list[_Claimed] = []
        for cand in candidates:
            account_id = cand["account_id"]
            if len(claimed) >= free or account_id in busy:
                continue
            if first_open.get((cand["run_id"], account_id)) != cand["position"]:
                continue  # an account's videos go in order: an earlier one is still open
            if await self._lease(cand["id"], account_id, cand["run_id"], now):
                busy.add(account_id)
                claimed.append(_Claimed(cand["id"], account_id, cand["run_id"]))
        return claimed

    async def _first_open_positions(self, run_ids: set[int]) -> dict[tuple[int, int], int]:
        rows = await RunItem.filter(run_id__in=run_ids, status__in=_OPEN_ITEMS).values(
            "run_id", "account_id", "position"
        )
        first: dict[tuple[int, int], int] = {}
        for row in rows:
            key = (row["run_id"], row["account_id"])
            first[key] = min(first.get(key, row["position"]), row["position"])
        return first

    async def _lease(self, item_id: int, account_id: int, run_id: int, now: datetime) -> bool:
        until = now + timedelta(seconds=self._config.lease_s)
        got = await Account.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now), id=account_id
        ).update(lease_owner=self.owner, lease_until=until)
        if not got:
            return False
        got = await RunItem.filter(id=item_id, status=ItemStatus.PENDING).update(
            status=ItemStatus.RUNNING,
            lease_owner=self.owner,
            lease_until=until,
            attempts=F("attempts") + 1,
            started_at=now,
        )
        if not got:
            await self._release_account(account_id)
            return False
        await Run.filter(id=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=now
        )
        self.health.ok()
        return True

    async def _release_account(self, account_id: int) -> None:
        await Account.filter(id=account_id, lease_owner=self.owner).update(
            lease_owner=None, lease_until=None
        )

    def _start(self, claimed: _Claimed) -> None:
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
        now = utcnow()
        rows = await RunItem.filter(status=ItemStatus.RUNNING).values(
            "id", "run_id", "lease_owner", "lease_until", "attempts"
        )
        recovered = 0
        for row in rows:
            if self._abandoned(row["id"], row["lease_owner"] or "", row["lease_until"], now):
                recovered += await self._put_back(row, now)
        await self._release_abandoned_accounts(now)
        if recovered:
            log.info("recovered %d item(s) left running by a stopped runner", recovered)
        await self._settle_forgotten()
        return recovered

    def _abandoned(self, item_id: int, owner: str, until: datetime | None, now: datetime) -> bool:
        """A running row nobody drives: its runner died, its lease ran out, or it is ours
        but its task ended without recording an outcome (a storage error)."""
        if owner == self.owner:
            return item_id not in self._claimed
        return until is None or until < now or owner_is_dead(owner, self.owner)

    async def _put_back(self, row: dict[str, Any], now: datetime) -> int:
        if row["attempts"] >= self._config.max_attempts:
            changes: dict[str, Any] = {
                "status": ItemStatus.FAILED,
                "error_class": "Interrupted",
                "error_message": "the runner stopped during the last allowed attempt",
                "finished_at": now,
            }
        else:
            changes = {"status": ItemStatus.PENDING, "not_before": None}
        got = await RunItem.filter(
            id=row["id"], status=ItemStatus.RUNNING, lease_owner=row["lease_owner"]
        ).update(lease_owner=None, lease_until=None, **changes)
        if got and changes["status"] == ItemStatus.FAILED:
            await self._settle(row["run_id"])
        return int(got)

    async def _release_abandoned_accounts(self, now: datetime) -> None:
        driving = {claimed.account_id for claimed in self._claimed.values()}
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

    async def _settle_forgotten(self) -> None:
        """Settle runs whose last outcome was stored but whose own settling failed."""
        open_runs = {
            row["id"]
            for row in await Run.filter(
                finished_at__isnull=True, status__in=_CLAIMABLE_RUNS
            ).values("id")
        }
        if not open_runs:
            return
        busy = {
            row["run_id"]
            for row in await RunItem.filter(run_id__in=open_runs, status__in=_OPEN_ITEMS).values(
                "run_id"
            )
        }
        for run_id in sorted(open_runs - busy):  # two queries, however many runs are open
            await self._settle(run_id)

    async def _renew_leases(self) -> None:
        interval = self._config.lease_s / 3
        while True:
            await asyncio.sleep(interval)
            if not self._claimed:
                continue
            until = utcnow() + timedelta(seconds=self._config.lease_s)
            try:
                await RunItem.filter(id__in=list(self._claimed), lease_owner=self.owner).update(
                    lease_until=until
                )
                await Account.filter(lease_owner=self.owner).update(lease_until=until)
            except STORAGE_ERRORS as exc:
                self.health.failed("renewing leases", exc)
            else:
                self.health.ok()

    async def _stop_cancelled_items(self) -> None:
        if not self._claimed:
            return
        rows = await RunItem.filter(
            id__in=list(self._claimed), run__status=RunStatus.CANCELLED
        ).values("id")
        for row in rows:
            item_id = row["id"]
            task = self._tasks.get(item_id)
            if task is not None and item_id not in self._cancelling:
                self._cancelling.add(item_id)
                task.cancel()

    # -- one item ---------------------------------------------------------------------

    async def _run_item(self, claimed: _Claimed) -> None:
        try:
            await self._attempt(claimed)
        except asyncio.CancelledError:
            await asyncio.shield(self._interrupted(claimed))
            raise
        except STORAGE_ERRORS as exc:  # could not even read the item: recovery redoes it
            self.health.failed(f"starting item {claimed.item_id}", exc)
        finally:
            self._cancelling.discard(claimed.item_id)

    async def _interrupted(self, claimed: _Claimed) -> None:
        try:
            await self._write_interrupted(claimed)
        except STORAGE_ERRORS as exc:  # its lease runs out and recovery puts it back
            self.health.failed(f"putting item {claimed.item_id} back", exc)

    async def _write_interrupted(self, claimed: _Claimed) -> None:
        now = utcnow()
        cancelled = claimed.item_id in self._cancelling
        async with in_transaction():
            if cancelled:
                await RunItem.filter(id=claimed.item_id, lease_owner=self.owner).update(
                    status=ItemStatus.CANCELLED,
                    lease_owner=None,
                    lease_until=None,
                    finished_at=now,
                )
            else:  # shutdown: this attempt does not count
                await RunItem.filter(id=claimed.item_id, lease_owner=self.owner).update(
                    status=ItemStatus.PENDING,
                    lease_owner=None,
                    lease_until=None,
                    attempts=F("attempts") - 1,
                )
            await self._release_account(claimed.account_id)
        if cancelled:
            await self._settle(claimed.run_id)

    async def _attempt(self, claimed: _Claimed) -> None:
        item = await RunItem.get(id=claimed.item_id).prefetch_related(
            "run", "account", "account__proxy", "video"
        )
        account = item.account
        label = account.label
        video_name = item.video.original_name if item.video else None
        await self._emit(
            item, ItemEvent(item.run_id, item.id, label, "running", item.attempts, video_name)
        )
        outcome: WarmupReport | PostRef | _Failure
        state: dict[str, Any] | None = None
        try:
            outcome, state = await self._drive_in_browser(item)
        except SiteError as exc:
            outcome = _Failure(exc)
        if isinstance(outcome, _Failure):
            await self._record_failure(item, outcome)
        else:
            await self._record_success(item, outcome, state)

    async def _drive_in_browser(
        self, item: RunItem
    ) -> tuple[WarmupReport | PostRef | _Failure, dict[str, Any] | None]:
        account = item.account
        proxy = None
        if account.proxy is not None:
            proxy = ProxySettings(
                account.proxy.server,
                account.proxy.username,
                self._decrypt(account.proxy.password_enc),
            )
        saved = self._decrypt(account.session_state_enc)
        state = json.loads(saved) if saved else None
        adapter = self._adapter(account.site)
        deadline = asyncio.timeout(self._config.item_timeout_s)
        try:
            async with deadline, self._pool.context(proxy=proxy, storage_state=state) as context:
                tracing = self._config.trace == "on-failure"
                if tracing:
                    await context.tracing.start(screenshots=True, snapshots=True)
                page = await context.new_page()
                ctx = ItemContext(
                    page=page,
                    account_label=account.label,
                    credentials=Credentials(account.username, self._decrypt(account.password_enc)),
                    ask_human=lambda prompt: self._ask(item, page, prompt),
                )
                try:
                    value = await self._drive(adapter, ctx, item)
                    new_state: dict[str, Any] = dict(await context.storage_state())
                except (Exception, asyncio.CancelledError) as exc:
                    if isinstance(exc, asyncio.CancelledError) and not deadline.expired():
                        raise
                    failure = _Failure(_classify(exc))
                    await self._keep_artifacts(item, context, page, failure, tracing)
                    if isinstance(exc, asyncio.CancelledError):
                        failure.error = ItemTimeout(
                            f"item took longer than {self._config.item_timeout_s:.0f}s"
                        )
                    return failure, None
                if tracing:
                    await context.tracing.stop()
                return value, new_state
        except TimeoutError:
            return _Failure(
                ItemTimeout(f"item took longer than {self._config.item_timeout_s:.0f}s")
            ), None
        except PlaywrightError as exc:
            return _Failure(_classify(exc)), None

    async def _drive(
        self, adapter: SiteAdapter, ctx: ItemContext, item: RunItem
    ) -> WarmupReport | PostRef:
        if not await adapter.is_logged_in(ctx):
            await adapter.log_in(ctx)
        params = item.run.params
        if item.run.kind == RunKind.WARMUP:
            duration = float(params.get("duration_s", self._config.warmup_duration_s))  # type: ignore[arg-type]
            return await adapter.warmup(ctx, duration)
        video = item.video
        assert video is not None, "upload items always have a video"
        caption = params.get("caption")
        upload = VideoToUpload(
            path=self._runs.video_path(video),
            sha256=video.sha256,
            caption=str(caption) if caption is not None else video.caption,
            original_name=video.original_name,
        )
        # Before every attempt: a post that reached the site earlier is recorded, not redone.
        existing = await adapter.find_post(ctx, upload)
        if existing is not None:
            return existing
        return await adapter.upload(ctx, upload)

    def _adapter(self, site: str) -> SiteAdapter:
        if site not in self._adapters:
            self._adapters[site] = build_adapter(site, self._sites)
        return self._adapters[site]

    def _decrypt(self, token: str | None) -> str | None:
        return self._secrets.decrypt(token) if token else None

    async def _ask(self, item: RunItem, page: Page, prompt: str) -> str:
        screenshot = b""
        with contextlib.suppress(PlaywrightError):
            screenshot = await page.screenshot()
        question = Question(item.run_id, item.id, item.account.label, prompt, screenshot)
        timeout = self._config.verification_timeout_s
        try:
            async with asyncio.timeout(timeout):
                answer = await self._operator.ask(question)
        except TimeoutError:
            raise VerificationRequired(
                f"nobody answered the verification prompt within {timeout:.0f}s"
            ) from None
        if not answer or not answer.strip():
            raise VerificationRequired("the site asked for a verification code; none was given")
        return answer.strip()

    async def _keep_artifacts(
        self,
        item: RunItem,
        context: BrowserContext,
        page: Page,
        failure: _Failure,
        tracing: bool,
    ) -> None:
        folder = self._artifacts / f"run-{item.run_id}"
        stem = f"item-{item.id}-attempt-{item.attempts}"
        try:
            await asyncio.to_thread(folder.mkdir, mode=0o700, parents=True, exist_ok=True)
            shot = folder / f"{stem}.png"
            async with asyncio.timeout(10):
                await page.screenshot(path=shot, full_page=False)
            failure.screenshot = str(shot)
        except (PlaywrightError, TimeoutError, OSError):
            log.info("no screenshot for item %d (the page was gone)", item.id)
        if tracing:
            trace = folder / f"{stem}.trace.zip"
            try:
                async with asyncio.timeout(20):
                    await context.tracing.stop(path=trace)
                failure.trace = str(trace)
            except (PlaywrightError, TimeoutError, OSError):
                log.info("no trace for item %d", item.id)

    # -- recording outcomes -------------------------------------------------------------

    async def _record_success(
        self, item: RunItem, value: WarmupReport | PostRef, state: dict[str, Any] | None
    ) -> None:
        now = utcnow()
        result = result_of(value)
        account_changes: dict[str, Any] = {
            "health": Health.OK,
            "failure_streak": 0,
            "lease_owner": None,
            "lease_until": None,
        }
        if state is not None:
            account_changes["session_state_enc"] = self._secrets.encrypt(json.dumps(state))
        if isinstance(value, WarmupReport):
            account_changes["last_warmup_at"] = now

        async def write() -> int:
            async with in_transaction():
                got = await RunItem.filter(id=item.id, lease_owner=self.owner).update(
                    status=ItemStatus.SUCCEEDED,
                    result=result,
                    error_class=None,
                    error_message=None,
                    not_before=None,
                    lease_owner=None,
                    lease_until=None,
                    finished_at=now,
                )
                await Account.filter(id=item.account_id, lease_owner=self.owner).update(
                    **account_changes
                )
            return got

        got = await self.health.until_stored(f"recording item {item.id}", write)
        if not got:
            log.warning("item %d: lease lost before its success was recorded", item.id)
            return
        await self._after(item, "succeeded", None, result)

    async def _record_failure(self, item: RunItem, failure: _Failure) -> None:
        now = utcnow()
        error = failure.error
        retry = isinstance(error, TransientSiteError) and item.attempts < self._config.max_attempts
        changes: dict[str, Any] = {
            "error_class": type(error).__name__,
            "error_message": str(error)[:2000],
            "screenshot_path": failure.screenshot,
            "trace_path": failure.trace,
            "lease_owner": None,
            "lease_until": None,
        }
        if retry:
            changes |= {"status": ItemStatus.PENDING, "not_before": now + self._backoff(item)}
        else:
            changes |= {"status": ItemStatus.FAILED, "finished_at": now}
        account_changes: dict[str, Any] = {"lease_owner": None, "lease_until": None}
        if not retry:
            account_changes["failure_streak"] = F("failure_streak") + 1
            if error.health is not None:
                account_changes["health"] = Health(error.health)
            account_changes |= cooldown.account_changes(error, now)

        async def write() -> int:
            async with in_transaction():
                got = await RunItem.filter(id=item.id, lease_owner=self.owner).update(**changes)
                await Account.filter(id=item.account_id, lease_owner=self.owner).update(
                    **account_changes
                )
            return got

        got = await self.health.until_stored(f"recording item {item.id}", write)
        if not got:
            log.warning("item %d: lease lost before its failure was recorded", item.id)
            return
        log.info(
            "item %d (%s) attempt %d: %s: %s%s",
            item.id,
            item.account.label,
            item.attempts,
            type(error).__name__,
            error,
            " (will retry)" if retry else "",
        )
        message = f"{type(error).__name__}: {error}"
        await self._after(item, "retrying" if retry else "failed", message, None)

    def _backoff(self, item: RunItem) -> timedelta:
        base = self._config.backoff_base_s * 2 ** max(0, item.attempts - 1)
        delay = min(self._config.backoff_max_s, base) * self._rng.uniform(0.5, 1.5)
        return timedelta(seconds=delay)

    async def _after(
        self, item: RunItem, status: str, error: str | None, result: dict[str, Any] | None
    ) -> None:
        video = item.video.original_name if item.video else None
        event = ItemEvent(
            item.run_id, item.id, item.account.label, status, item.attempts, video, error, result
        )
        await self._emit(item, event)
        if status != "retrying":
            await self._settle(item.run_id)

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


def _classify(exc: BaseException) -> SiteError:
    """Map anything an adapter let through to our error tree."""
    if isinstance(exc, SiteError):
        return exc
    if isinstance(exc, PlaywrightError):
        text = exc.message.splitlines()[0] if exc.message else type(exc).__name__
        if "closed" in text.lower() or "crash" in text.lower():
            return BrowserCrashed(text)
        return TransientSiteError(text)
    if isinstance(exc, TimeoutError | asyncio.CancelledError):
        return ItemTimeout("the item ran out of time")
    log.error("adapter raised an unexpected error", exc_info=exc)
    return SiteError(f"unexpected {type(exc).__name__} in the site adapter")

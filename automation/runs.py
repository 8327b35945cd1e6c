"""Creating, inspecting and steering runs; everything here is short database work.

A run and all its items are written in one transaction before anything slow happens, so a
request that was acknowledged exists even if the process dies right after.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from automation.accounts import close_labels
from automation.errors import RunError, SelectorError, VideoError
from automation.notifications import enqueue
from automation.summary import (
    RunProgress,
    RunSummary,
    derive_status,
    load_progress,
    load_summary,
    summary_text,
)
from storage.models import (
    Account,
    Health,
    ItemStatus,
    Run,
    RunItem,
    RunKind,
    RunStatus,
    Trigger,
    Video,
)

MAX_VIDEO_BYTES = 2 * 1024**3
_MP4_BRAND = b"ftyp"
_WEBM_MAGIC = b"\x1a\x45\xdf\xa3"


@dataclass(frozen=True)
class Requester:
    """Who asked for a run and where to tell them about it."""

    trigger: Trigger = Trigger.CLI
    requested_by: str | None = None
    chat_id: int | None = None
    schedule_id: int | None = None
    # Extra chats told about the run (a CLI-made schedule tells every admin).
    notify: tuple[int, ...] = ()


def video_kind(head: bytes) -> str | None:
    """'mp4' or 'webm' judged by the file's first bytes, else None."""
    if head[4:8] == _MP4_BRAND:
        return "mp4"
    if head.startswith(_WEBM_MAGIC):
        return "webm"
    return None


def _hash_and_copy(source: Path, videos_dir: Path, limit: int) -> tuple[str, str, int]:
    """Check, hash and copy a video in one pass (runs in a worker thread)."""
    try:
        size = source.stat().st_size
        if size > limit:
            raise VideoError(f"{source.name} is larger than {limit // 2**20} MB")
        with source.open("rb") as handle:
            head = handle.read(16)
            kind = video_kind(head)
            if kind is None:
                raise VideoError(f"{source.name} is not an MP4 or WebM video (by its content)")
            digest = hashlib.sha256(head)
            tmp = videos_dir / f".incoming-{source.name}-{id(handle)}"
            with tmp.open("wb") as out:
                out.write(head)
                while chunk := handle.read(1024 * 1024):
                    digest.update(chunk)
                    out.write(chunk)
    except OSError as exc:
        raise VideoError(f"cannot read video {source}: {exc.strerror}") from None
    sha = digest.hexdigest()
    final = videos_dir / f"{sha}.{kind}"
    if final.exists():
        tmp.unlink()
    else:
        tmp.replace(final)
    return sha, final.name, size


class RunService:
    """Turns requests into runs and answers questions about them."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._videos_dir = data_dir / "videos"

    async def select(self, selector: str) -> list[Account]:
        """Accounts named by 'all', '#tag', 'label' or 'a,b,c' (disabled ones excluded)."""
        selector = selector.strip() or "all"
        active = Account.exclude(health=Health.DISABLED).order_by("label")
        if selector == "all":
            accounts = await active
            if not accounts:
                raise SelectorError("there are no active accounts yet")
            return list(accounts)
        if selector.startswith("#"):
            tag = selector[1:]
            accounts = [a for a in await active if tag in a.tags]
            if not accounts:
                raise SelectorError(f"no active account has the tag #{tag}")
            return accounts
        labels = [part.strip() for part in selector.split(",") if part.strip()]
        found = {a.label: a for a in await Account.filter(label__in=labels)}
        known: list[str] | None = None
        problems = []
        for label in labels:
            if label in found:
                if found[label].health == Health.DISABLED:
                    problems.append(f"account {label!r} is disabled")
                continue
            if known is None:
                known = [str(k) for k in await Account.all().values_list("label", flat=True)]
            hint = close_labels(label, known)
            problems.append(
                f"no account labelled {label[:64]!r}"
                + (f" (did you mean {', '.join(hint)}?)" if hint else "")
            )
        if problems:
            raise SelectorError("; ".join(problems))
        return [found[label] for label in dict.fromkeys(labels)]

    async def store_video(self, path: Path, caption: str = "") -> Video:
        """Copy a video into the data dir by content hash; the same file is stored once."""
        self._videos_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        sha, name, size = await asyncio.to_thread(
            _hash_and_copy, path, self._videos_dir, MAX_VIDEO_BYTES
        )
        video = await Video.get_or_none(sha256=sha)
        if video is None:
            try:
                video = await Video.create(
                    sha256=sha,
                    path=f"videos/{name}",
                    size=size,
                    original_name=path.name[:255],
                    caption=caption,
                )
            except IntegrityError:  # stored concurrently by another request
                video = await Video.get(sha256=sha)
        return video

    def video_path(self, video: Video) -> Path:
        """Where a stored video's bytes are."""
        return self._data_dir / video.path

    async def create_warmup(
        self, selector: str, *, duration_s: float, requester: Requester
    ) -> Run:
        """A warmup run over the selected accounts."""
        accounts = await self.select(selector)
        return await self._create(
            RunKind.WARMUP,
            requester,
            {"selector": selector, "duration_s": duration_s},
            [(account, None) for account in accounts],
        )

    async def create_upload(
        self,
        selector: str,
        videos: list[Video],
        *,
        caption: str | None = None,
        spread: bool = False,
        requester: Requester,
    ) -> Run:
        """An upload run: every account posts every video in order, or one each (spread)."""
        if not videos:
            raise VideoError("an upload needs at least one video")
        accounts = await self.select(selector)
        pairs: list[tuple[Account, Video | None]]
        if spread:
            pairs = [(accounts[i % len(accounts)], video) for i, video in enumerate(videos)]
        else:
            pairs = [(account, video) for video in videos for account in accounts]
        params: dict[str, object] = {"selector": selector, "spread": spread}
        if caption is not None:
            params["caption"] = caption
        return await self._create(RunKind.UPLOAD, requester, params, pairs)

    async def create_upload_pairs(
        self,
        pairs: list[tuple[Account, Video]],
        *,
        params: dict[str, object],
        requester: Requester,
    ) -> Run:
        """An upload run of exactly these (account, video) items, in this order."""
        if not pairs:
            raise VideoError("nothing to upload")
        items: list[tuple[Account, Video | None]] = [(a, v) for a, v in pairs]
        return await self._create(RunKind.UPLOAD, requester, params, items)

    async def _create(
        self,
        kind: RunKind,
        requester: Requester,
        params: dict[str, object],
        pairs: list[tuple[Account, Video | None]],
    ) -> Run:
        if requester.notify:
            params = params | {"notify": list(requester.notify)}
        async with in_transaction():
            run = await Run.create(
                kind=kind,
                trigger=requester.trigger,
                requested_by=requester.requested_by,
                chat_id=requester.chat_id,
                schedule_id=requester.schedule_id,
                params=params,
            )
            await RunItem.bulk_create(
                [
                    RunItem(run=run, account=account, video=video, position=position)
                    for position, (account, video) in enumerate(pairs)
                ]
            )
        return run

    async def get(self, run_id: int) -> Run:
        """The run with this id; RunError when there is none."""
        run = await Run.get_or_none(id=run_id)
        if run is None:
            raise RunError(f"there is no run #{run_id}")
        return run

    async def summary(self, run_id: int) -> RunSummary:
        """The run as the database has it now."""
        return await load_summary(await self.get(run_id))

    async def progress(self, run: Run) -> RunProgress:
        """The run's counts by item status, as the database has them now."""
        return await load_progress(run)

    async def recent(self, limit: int = 20) -> list[RunSummary]:
        """The latest runs, newest first."""
        runs = await Run.all().order_by("-id").limit(limit)
        return [await load_summary(run) for run in runs]

    async def cancel(self, run_id: int) -> RunSummary:
        """Cancel what has not started; running items stop when their runner notices."""
        run = await self.get(run_id)
        if RunStatus(run.status).is_final:
            return await load_summary(run)
        now = datetime.now(UTC)
        async with in_transaction():
            await Run.filter(id=run_id).update(status=RunStatus.CANCELLED)
            await RunItem.filter(run_id=run_id, status=ItemStatus.PENDING).update(
                status=ItemStatus.CANCELLED, finished_at=now
            )
        await self.settle(run_id)
        return await self.summary(run_id)

    async def mark_interrupted(self, run_id: int) -> None:
        """Record that the foreground process running this run stopped before the end."""
        await Run.filter(id=run_id, status__in=RunStatus.claimable()).update(
            status=RunStatus.INTERRUPTED
        )

    async def reopen(self, run_id: int) -> Run:
        """Let a run's pending items be claimed again (``runs resume``)."""
        run = await self.get(run_id)
        if run.status == RunStatus.INTERRUPTED:
            await Run.filter(id=run_id, status=RunStatus.INTERRUPTED).update(
                status=RunStatus.RUNNING
            )
            run.status = RunStatus.RUNNING
        return run

    async def retry_failed(self, run_id: int, requester: Requester) -> Run:
        """A new run with the failed items of an old one."""
        old = await self.get(run_id)
        failed = (
            await RunItem.filter(run_id=run_id, status=ItemStatus.FAILED)
            .order_by("position")
            .prefetch_related("account", "video")
        )
        if not failed:
            raise RunError(f"run #{run_id} has no failed items to retry")
        params = dict(old.params) | {"retry_of": run_id}
        return await self._create(
            RunKind(old.kind), requester, params, [(i.account, i.video) for i in failed]
        )

    async def settle(self, run_id: int) -> RunSummary | None:
        """If every item is final: store the run's final status and queue its notification.

        Returns the summary only to the one caller that settled the run.
        """
        run = await self.get(run_id)
        final = derive_status((await load_progress(run)).counts, RunStatus(run.status))
        if final is None or run.finished_at is not None:
            return None
        now = datetime.now(UTC)
        async with in_transaction():
            changed = await Run.filter(id=run_id, finished_at__isnull=True).update(
                status=final, finished_at=now
            )
            if not changed:
                return None
            run.status, run.finished_at = final, now
            summary = await load_summary(run)
            for chat_id in notify_chats(run):
                await enqueue(
                    chat_id,
                    "run_summary",
                    summary_text(summary),
                    payload={"run_id": run_id},
                    run_id=run_id,
                    dedupe_key=f"run:{run_id}:summary:{chat_id}",
                )
        return summary


def notify_chats(run: Run) -> list[int]:
    """The chats owed this run's summary: its own chat and any listed in params."""
    chats = [run.chat_id] if run.chat_id is not None else []
    extra = run.params.get("notify")
    if isinstance(extra, list):
        chats += [int(chat) for chat in extra]
    return list(dict.fromkeys(chats))


__all__ = ["MAX_VIDEO_BYTES", "Requester", "RunService", "video_kind"]

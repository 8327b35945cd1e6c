"""The upload queue: library videos waiting, in order, for upload schedules to post them.

A video stays queued for an account until that account's upload of it succeeded; the
queue itself is just ``Video.queue_position``, so it survives restarts like everything else.
"""

from __future__ import annotations

from pathlib import Path

from tortoise.functions import Max

from automation.errors import VideoError
from automation.runs import RunService
from storage.models import Account, ItemStatus, RunItem, RunKind, Video

_TAKEN = (ItemStatus.SUCCEEDED, *ItemStatus.open())  # posted, or on its way


class VideoQueue:
    """Adds, lists and removes queued videos, and picks what each account posts next."""

    def __init__(self, runs: RunService) -> None:
        self._runs = runs

    async def add_file(self, path: Path, caption: str = "") -> Video:
        """Store a file (checked, deduplicated) and put it at the end of the queue."""
        return await self.enqueue(await self._runs.store_video(path, caption))

    async def enqueue(self, video: Video) -> Video:
        """Put a stored video at the end of the queue (no-op when already queued)."""
        if video.queue_position is None:
            last = (
                await Video.filter(queue_position__isnull=False)
                .annotate(top=Max("queue_position"))
                .values_list("top", flat=True)
            )
            top = max((int(str(v)) for v in last if v is not None), default=0)
            video.queue_position = top + 1
            await video.save(update_fields=["queue_position"])
        return video

    async def queued(self) -> list[Video]:
        """The queue, in posting order."""
        return list(await Video.filter(queue_position__isnull=False).order_by("queue_position"))

    async def remove(self, video_id: int) -> Video:
        """Take a video out of the queue (its file and history stay)."""
        video = await Video.get_or_none(id=video_id, queue_position__isnull=False)
        if video is None:
            raise VideoError(f"video #{video_id} is not in the queue")
        video.queue_position = None
        await video.save(update_fields=["queue_position"])
        return video

    async def next_for(self, accounts: list[Account], per_run: int) -> list[tuple[Account, Video]]:
        """Each account's next ``per_run`` queued videos it has not posted (or is posting)."""
        queue = await self.queued()
        if not queue or not accounts:
            return []
        taken = set(
            await RunItem.filter(
                account_id__in=[a.id for a in accounts],
                video_id__in=[v.id for v in queue],
                status__in=_TAKEN,
                run__kind=RunKind.UPLOAD,
            ).values_list("account_id", "video_id")
        )
        pairs = []
        for account in accounts:
            fresh = [v for v in queue if (account.id, v.id) not in taken][:per_run]
            pairs += [(account, video) for video in fresh]
        return pairs

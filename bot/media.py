"""Videos and documents from Telegram: streamed to disk, checked, stored by content hash.

Telegram's file names are never used as paths: a download goes to a fresh name under
``<data_dir>/incoming`` and is stored under its sha256 by ``RunService.store_video``.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from aiogram import Bot
from aiogram.types import Document, Message
from aiogram.types import Video as TelegramVideo

from automation.errors import FleetbotError
from automation.runs import RunService
from storage.models import Video

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

DOCUMENT_LIMIT = 5 * 1024 * 1024


class FileTooBig(FleetbotError):
    """A file over what the Bot API lets this bot download."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"file of {size} bytes is over the {limit} bytes download limit")
        self.size = size
        self.limit = limit


def video_file(message: Message | None) -> TelegramVideo | Document | None:
    """The video a message carries (as a video, or a document of a video type)."""
    if message is None:
        return None
    if message.video is not None:
        return message.video
    document = message.document
    if document is not None and (document.mime_type or "").startswith("video/"):
        return document
    return None


class MediaIntake:
    """Downloads files the operator sends."""

    def __init__(self, bot: Bot, runs: RunService, data_dir: Path, *, limit_mb: int) -> None:
        self._bot = bot
        self._runs = runs
        self._incoming = data_dir / "incoming"
        self._limit = limit_mb * 2**20

    async def store_video(self, file_id: str, size: int | None, caption: str = "") -> Video:
        """Download a video to the data dir and store it (checked, deduplicated)."""
        self._check_size(size, self._limit)
        await asyncio.to_thread(self._incoming.mkdir, mode=0o700, parents=True, exist_ok=True)
        part = self._incoming / f"{uuid.uuid4().hex}.part"
        try:
            file = await self._bot.get_file(file_id)
            if file.file_path is None:
                raise FleetbotError("Telegram did not give a path for that file")
            try:
                await self._bot.download_file(file.file_path, part, timeout=600)
            except (aiohttp.ClientError, TimeoutError) as exc:  # aiogram does not map these
                raise FleetbotError(
                    f"could not download the file from Telegram ({type(exc).__name__})"
                ) from None
            return await self._runs.store_video(part, caption)
        finally:
            await asyncio.to_thread(part.unlink, missing_ok=True)

    async def read_document(self, file_id: str, size: int | None) -> bytes:
        """A small document's bytes (CSV, cookies), refused when over DOCUMENT_LIMIT."""
        _check_document(size)
        file = await self._bot.get_file(file_id)
        if file.file_path is None:
            raise FleetbotError("Telegram did not give a path for that file")
        buffer = _CappedBuffer(DOCUMENT_LIMIT)
        try:
            await self._bot.download_file(file.file_path, buffer)
        except _OverCap:  # Telegram gave no size, or a wrong one: stopped at the limit
            raise FleetbotError(_too_big("over " + _mb(DOCUMENT_LIMIT))) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FleetbotError(
                f"could not download the file from Telegram ({type(exc).__name__})"
            ) from None
        return buffer.getvalue()

    @staticmethod
    def _check_size(size: int | None, limit: int) -> None:  # videos
        if size is not None and size > limit:
            raise FileTooBig(size, limit)


class _OverCap(Exception):
    """More bytes arrived than a _CappedBuffer takes."""


class _CappedBuffer(io.BytesIO):
    """An in-memory download that stops the transfer once it would pass a limit.

    A document's size from Telegram is optional, so the stream itself must be bounded:
    otherwise a huge file without a size would be read whole into memory.
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit

    def write(self, data: ReadableBuffer, /) -> int:
        """Append a chunk, or raise _OverCap without keeping it."""
        if self.tell() + memoryview(data).nbytes > self._limit:
            raise _OverCap
        return super().write(data)


def _check_document(size: int | None) -> None:
    if size is not None and size > DOCUMENT_LIMIT:
        raise FleetbotError(_too_big(_mb(size)))


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _too_big(size: str) -> str:
    return (
        f"that document is {size}; accounts and session files are "
        f"accepted up to {DOCUMENT_LIMIT // 2**20} MB"
    )

"""Videos and documents from Telegram: streamed to disk, checked, stored by content hash.

Telegram's file names are never used as paths: a download goes to a fresh name under
``<data_dir>/incoming`` and is stored under its sha256 by ``RunService.store_video``.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path

import aiohttp
from aiogram import Bot

from automation.errors import FleetbotError
from automation.runs import RunService
from storage.models import Video

DOCUMENT_LIMIT = 5 * 1024 * 1024


class FileTooBig(FleetbotError):
    """A file over what the Bot API lets this bot download."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"file of {size} bytes is over the {limit} bytes download limit")
        self.size = size
        self.limit = limit


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
        self._check_size(size, DOCUMENT_LIMIT)
        file = await self._bot.get_file(file_id)
        if file.file_path is None:
            raise FleetbotError("Telegram did not give a path for that file")
        buffer = io.BytesIO()
        try:
            await self._bot.download_file(file.file_path, buffer)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FleetbotError(
                f"could not download the file from Telegram ({type(exc).__name__})"
            ) from None
        data = buffer.getvalue()
        self._check_size(len(data), DOCUMENT_LIMIT)
        return data

    @staticmethod
    def _check_size(size: int | None, limit: int) -> None:
        if size is not None and size > limit:
            raise FileTooBig(size, limit)

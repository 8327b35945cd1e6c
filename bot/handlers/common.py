"""/start, /help and /status."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.i18n import Texts
from bot.status import StatusSource, status_text

router = Router(name="common")


@router.message(CommandStart())
@router.message(Command("help"))
async def help_(message: Message, t: Texts) -> None:
    """Every command with a one-line example."""
    await message.answer(t("help"))


@router.message(Command("status"))
async def status(message: Message, t: Texts, status_source: StatusSource) -> None:
    """Running runs, queue, browser pool, next scheduled fires, version."""
    await message.answer(status_text(t, await status_source.collect()))

"""/start, /help and /status."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.i18n import Texts
from bot.status import StatusSource, status_text


def make_router() -> Router:
    """A fresh router for /start, /help and /status."""
    router = Router(name="common")
    router.message.register(help_, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(status, Command("status"))
    return router


async def help_(message: Message, t: Texts) -> None:
    """Every command with a one-line example."""
    await message.answer(t("help"))


async def status(message: Message, t: Texts, status_source: StatusSource) -> None:
    """Running runs, queue, browser pool, next scheduled fires, version."""
    await message.answer(status_text(t, await status_source.collect()))

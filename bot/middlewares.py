"""Middlewares hung on the parent router: access control, language, error replies."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User

from automation.errors import FleetbotError
from bot.i18n import Choice, Texts, pick_language, texts
from bot.media import FileTooBig
from bot.parsing import USAGE, UsageError
from storage.db import StorageError
from storage.health import STORAGE_ERRORS, describe

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
REFUSAL_EVERY_S = 3600.0


class AdminsOnly(BaseMiddleware):
    """Only ``bot.admins``, in a private chat or one of ``bot.allowed_chats``, reach a handler.

    Others get one short refusal an hour, in private; in a group that is not allowed
    nothing is said at all, since every member would read it (and whatever followed).
    """

    def __init__(
        self, admins: tuple[int, ...], language: Choice, allowed_chats: tuple[int, ...] = ()
    ) -> None:
        self._admins = frozenset(admins)
        self._allowed_chats = frozenset(allowed_chats)
        self._language = language
        self._refused_at: dict[int, float] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        # No chat (inline mode, which the bot does not offer) counts as not private.
        private = chat is not None and chat.type == ChatType.PRIVATE
        chat_ok = private or (chat is not None and chat.id in self._allowed_chats)
        if user is not None and user.id in self._admins and chat_ok:
            return await handler(event, data)
        user_id = user.id if user is not None else None
        chat_id = chat.id if chat is not None else None
        log.warning("refused %s from user %s in chat %s", type(event).__name__, user_id, chat_id)
        if user is None or not private or not self._may_refuse(user.id):
            if isinstance(event, CallbackQuery):
                await event.answer()  # stop the button's spinner, say nothing
            return None
        t = texts(pick_language(self._language, user.language_code))
        if isinstance(event, Message):
            await event.answer(t("refused"))
        elif isinstance(event, CallbackQuery):
            await event.answer(t("refused"), show_alert=True)
        return None

    def _may_refuse(self, user_id: int) -> bool:
        now = time.monotonic()
        last = self._refused_at.get(user_id)
        if last is not None and now - last < REFUSAL_EVERY_S:
            return False
        self._refused_at[user_id] = now
        return True


class Language(BaseMiddleware):
    """Puts ``t`` (the sender's catalog) and ``lang`` into the handler's data."""

    def __init__(self, choice: Choice) -> None:
        self._choice = choice

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        lang = pick_language(self._choice, user.language_code if user else None)
        data["lang"] = lang
        data["t"] = texts(lang)
        return await handler(event, data)


class ReplyErrors(BaseMiddleware):
    """Bad input and known failures become a reply, never a traceback in the chat."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        t: Texts = data["t"]
        try:
            return await handler(event, data)
        except UsageError as exc:
            text = usage_text(t, exc)
        except FileTooBig as exc:
            text = t("video-too-big", size_mb=exc.size // 2**20, limit_mb=exc.limit // 2**20)
        except (FleetbotError, StorageError) as exc:
            text = t("error", message=str(exc))
        except STORAGE_ERRORS as exc:  # the database or disk failed: say so, stay up
            log.error("storage error while handling an update: %s", describe(exc))
            text = t("storage-error")
        await _reply(event, text)
        return None


def usage_text(t: Texts, exc: UsageError) -> str:
    """The reply for a UsageError: the command's usage, or the specific message."""
    if exc.key == "usage":
        usage = USAGE[str(exc.args_["command"])]
        return t("usage", usage=usage.synopsis, example=usage.example)
    return t(exc.key, **exc.args_)


async def _reply(event: TelegramObject, text: str) -> None:
    if isinstance(event, Message):
        await event.answer(text)
    elif isinstance(event, CallbackQuery):
        await event.answer(text[:200], show_alert=True)

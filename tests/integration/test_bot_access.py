"""Access control covers every handler: enumerated from the real routers, probed for real."""

from __future__ import annotations

import time
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command
from aiogram.types import Update

from bot.handlers import build_router
from bot.middlewares import AdminsOnly
from tests.fake_telegram import FakeBotAPI

ADMIN, STRANGER = 1001, 2002
TOKEN = "123456:access-test"


def routers(root: Router) -> list[Router]:
    return [root, *(r for child in root.sub_routers for r in routers(child))]


def commands(root: Router) -> set[str]:
    found = set()
    for router in routers(root):
        for handler in router.message.handlers:
            for filter_ in handler.filters or []:
                if isinstance(filter_.callback, Command):
                    found |= {str(c) for c in filter_.callback.commands}
    return found


def update(update_id: int, **body: Any) -> Update:
    return Update.model_validate({"update_id": update_id, **body})


def message(text: str | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": STRANGER, "type": "private"},
        "from": {"id": STRANGER, "is_bot": False, "first_name": "Eve"},
        **extra,
    }
    if text is not None:
        body["text"] = text
    return body


async def test_every_handler_sits_behind_the_admin_check() -> None:
    parent = build_router((ADMIN,), "en")
    handled = [
        (router.name, name)
        for router in routers(parent)
        for name, observer in router.observers.items()
        if observer.handlers
    ]
    assert ("runs", "message") in handled and ("runs", "callback_query") in handled
    # Structure: the check is an outer middleware on every event type of the one parent.
    for observer in parent.observers.values():
        assert any(isinstance(m, AdminsOnly) for m in observer.outer_middleware)
    # Behaviour: no services are given to the dispatcher, so any handler that ran would
    # fail on its missing arguments; each probe must be refused before that.
    probes = sorted(commands(parent))
    assert {"warmup", "upload", "accounts", "status", "cancel", "retry"} <= set(probes)
    async with FakeBotAPI(token=TOKEN) as api:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url)))
        dp = Dispatcher()
        dp.include_router(parent)
        updates = [update(i, message=message(f"/{name} all")) for i, name in enumerate(probes)]
        updates += [
            update(100, message=message("123456")),
            update(
                101,
                message=message(
                    None,
                    caption="/import",
                    document={"file_id": "f", "file_unique_id": "u", "file_name": "a.csv"},
                ),
            ),
            update(
                102,
                callback_query={
                    "id": "1",
                    "chat_instance": "1",
                    "data": "run:retry:1",
                    "from": {"id": STRANGER, "is_bot": False, "first_name": "Eve"},
                    "message": message("old summary"),
                },
            ),
            update(
                103,
                callback_query={
                    "id": "2",
                    "chat_instance": "1",
                    "data": "acc:1",
                    "from": {"id": STRANGER, "is_bot": False, "first_name": "Eve"},
                    "message": message("old page"),
                },
            ),
        ]
        try:
            for item in updates:
                await dp.feed_update(bot, item)
        finally:
            await bot.session.close()
    refusals = [c for c in api.calls if c.method == "sendMessage"]
    assert [c.params["text"] for c in refusals] == ["This bot is private."]
    assert {c.method for c in api.calls} <= {"sendMessage", "answerCallbackQuery"}

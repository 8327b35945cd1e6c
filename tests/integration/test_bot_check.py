"""/check LABEL through the real aiogram dispatcher, a fake Bot API and the TikTok replica."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Update

from automation.accounts import AccountService
from automation.browser import BrowserPool
from automation.config import SitesConfig, TikTokSiteConfig
from automation.site_check import SiteChecker
from bot.config import Settings
from bot.handlers.sites import make_router
from bot.middlewares import Language, ReplyErrors
from storage.db import Database
from tests.fake_telegram import FakeBotAPI
from tests.tiktok_replica.harness import add_tiktok_accounts
from tests.tiktok_replica.server import TikTokReplica
from tests.tiktok_replica.state import ReplicaOptions

ADMIN = 1001
TOKEN = "123456:check-test"


def command(update_id: int, text: str) -> Update:
    return Update.model_validate(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": {"id": ADMIN, "type": "private"},
                "from": {"id": ADMIN, "is_bot": False, "first_name": "Op"},
                "text": text,
                "entities": [{"type": "bot_command", "offset": 0, "length": text.find(" ")}],
            },
        }
    )


@pytest.fixture
async def bot_parts(settings: Settings) -> AsyncIterator[tuple[Any, ...]]:
    async with (
        TikTokReplica(ReplicaOptions(drift=True, seed=3)) as replica,
        Database(settings.storage) as db,
        BrowserPool(settings.automation) as pool,
        FakeBotAPI(token=TOKEN) as api,
    ):
        await add_tiktok_accounts(db.secrets, replica.url, 1)
        sites = SitesConfig(tiktok=TikTokSiteConfig(base_url=replica.url))
        router = make_router()
        router.message.middleware(Language("en"))
        router.message.middleware(ReplyErrors())
        dispatcher = Dispatcher(
            accounts=AccountService(db.secrets),
            site_checks=SiteChecker(pool, sites, db.secrets, navigation_timeout_s=15),
        )
        dispatcher.include_router(router)
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url)))
        try:
            yield replica, dispatcher, bot, api
        finally:
            await bot.session.close()


async def test_check_replies_with_the_probe_and_posts_nothing(bot_parts: tuple[Any, ...]) -> None:
    replica, dispatcher, bot, api = bot_parts
    await dispatcher.feed_update(bot, command(1, "/check tt1"))
    started = await api.wait_for_message(ADMIN, "Checking tiktok with tt1")
    assert "nothing is posted" in started["text"]
    report = await api.wait_for_message(ADMIN, "tiktok with tt1: logged in", within=120)
    assert "ok   upload   file_input" in report["text"]
    # Without a video the form is not opened, so the renamed post button is not judged.
    assert "post_button" in report["text"]
    assert "MISS" not in report["text"]
    assert replica.state.posts == []

    await dispatcher.feed_update(bot, command(2, "/check nobody"))
    await api.wait_for_message(ADMIN, "no account labelled 'nobody'")

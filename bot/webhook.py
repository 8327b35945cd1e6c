"""Webhook mode: Telegram POSTs updates to fleetbot's own HTTP server instead of polling.

``serve`` with ``bot.mode = "webhook"`` listens on ``bot.webhook_listen`` (behind a
reverse proxy that terminates TLS for ``bot.webhook_url``), registers the webhook with the
secret token at start, and hands every update whose ``X-Telegram-Bot-Api-Secret-Token``
matches to the same dispatcher that polling feeds. A request without the right token gets
401 and changes nothing; the first one is logged. In polling mode ``serve`` deletes any
webhook first, since Telegram refuses getUpdates while one is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.config import BotConfig

log = logging.getLogger(__name__)


class SecretCheckedHandler(SimpleRequestHandler):
    """aiogram's handler, saying once that requests without the secret are refused, and
    leaving the bot's session to ``serve``, which closes it last."""

    refused = 0

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        """Compare in constant time; count and log (once) what is refused."""
        if super().verify_secret(telegram_secret_token, bot):
            return True
        self.refused += 1
        if self.refused == 1:
            log.warning(
                "webhook: refused a request without the right secret token (401); "
                "further ones are not logged"
            )
        return False

    async def close(self) -> None:
        """Nothing: the bot session belongs to serve."""


async def serve_webhook(bot: Bot, dispatcher: Dispatcher, config: BotConfig) -> None:
    """Listen and register the webhook; runs until cancelled."""
    assert config.webhook_url is not None and config.webhook_secret is not None
    secret = config.webhook_secret.get_secret_value()
    handler = SecretCheckedHandler(dispatcher, bot, secret_token=secret)
    app = web.Application()
    app.router.add_post(urlsplit(config.webhook_url).path or "/", handler.handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    host, _, port = config.webhook_listen.rpartition(":")
    try:
        await web.TCPSite(runner, host.strip("[]"), int(port)).start()
        await bot.set_webhook(
            config.webhook_url,
            secret_token=secret,
            allowed_updates=dispatcher.resolve_used_update_types(),
        )
        log.info(
            "webhook %s registered; listening on %s", config.webhook_url, config.webhook_listen
        )
        await asyncio.Event().wait()  # until cancelled
    finally:
        tasks = list(handler._background_feed_update_tasks)  # aiogram keeps no public handle
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await runner.cleanup()

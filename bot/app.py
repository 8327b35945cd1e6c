"""The composition root of ``fleetbot serve``: build everything in order, stop in reverse.

Start order: database (ORM, migrations) and the one-serve-per-database lock, browser pool,
runner, scheduler, then the bot's
outbox sender and long polling. On SIGTERM/SIGINT: stop taking updates, let running items
finish for up to ``bot.shutdown_grace_s`` (the rest go back to pending, leases released),
flush what the outbox can, close the browser and the database, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
from aiogram.types import BotCommand

from automation.browser import BrowserPool
from automation.engine import make_runner
from automation.errors import FleetbotError
from automation.questions import ChatOperator
from automation.retention import ArtifactPruner
from automation.runner import Runner
from automation.runs import RunService
from automation.scheduler import FleetScheduler, SchedulerSettings
from bot.alerts import StorageAlerts
from bot.config import ConfigError, Settings
from bot.dispatcher import make_dispatcher
from bot.floodgate import ChatGate
from bot.i18n import DEFAULT_LANGUAGE
from bot.outbox import Outbox
from bot.progress import ProgressWatch, TelegramReporter
from bot.webhook import serve_webhook
from storage.db import open_database
from storage.health import StorageHealth
from storage.locks import ServeLock

log = logging.getLogger(__name__)

OUTBOX_FLUSH_S = 5.0
COMMANDS = (
    ("help", "what fleetbot can do"),
    ("accounts", "accounts and their health"),
    ("warmup", "warm up accounts: /warmup all 5m"),
    ("upload", "post a video: caption /upload all"),
    ("runs", "recent runs"),
    ("run", "one run's outcomes: /run ID"),
    ("cancel", "stop a run: /cancel ID"),
    ("retry", "rerun failed items: /retry ID"),
    ("schedule", 'add a schedule: /schedule warmup "daily 09:00" all'),
    ("schedules", "the schedules"),
    ("videos", "the upload queue"),
    ("status", "what is running now"),
)


class StartupError(FleetbotError):
    """fleetbot serve cannot start; the message says what to fix."""


@dataclass
class App:
    """The running pieces, for ``serve`` and for tests that need a handle on them."""

    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    runner: Runner
    outbox: Outbox
    reporter: TelegramReporter
    serve_lock: ServeLock


def make_bot(settings: Settings) -> Bot:
    """The Bot, pointed at ``bot.api_base`` when set (self-hosted Bot API, tests)."""
    token = settings.bot.token
    if token is None or not token.get_secret_value().strip():
        raise ConfigError(
            "bot.token is not set: export FLEETBOT_BOT__TOKEN=<token from @BotFather> "
            "(keep it out of config.toml)"
        )
    session = None
    if settings.bot.api_base:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.bot.api_base))
    return Bot(token.get_secret_value().strip(), session=session)


@asynccontextmanager
async def build(settings: Settings) -> AsyncIterator[App]:
    """Everything ``serve`` runs, started in order and closed in reverse."""
    bot = make_bot(settings)
    if not settings.bot.admins:
        await bot.session.close()
        raise ConfigError("bot.admins is empty: nobody could use the bot (FLEETBOT_BOT__ADMINS)")
    language = DEFAULT_LANGUAGE if settings.bot.language == "auto" else settings.bot.language
    data_dir = settings.storage.data_dir
    async with AsyncExitStack() as stack:
        stack.push_async_callback(bot.session.close)
        db = await stack.enter_async_context(open_database(settings.storage, settings.secret_key))
        # One serve per database: refuse before touching any run.
        serve_lock = await stack.enter_async_context(ServeLock(settings.storage))
        await stack.enter_async_context(
            ArtifactPruner(data_dir, settings.storage.artifact_retention_days)
        )
        await _check_token(bot)
        runs = RunService(data_dir)
        gate = ChatGate()
        outbox = Outbox(
            bot,
            runs,
            gate,
            default_language=language,
            send_screenshots=settings.bot.send_failure_screenshots,
            secrets=db.secrets,
        )
        reporter = TelegramReporter(bot, gate, outbox, settings.bot.progress_edit_s)
        stack.push_async_callback(reporter.close)
        drives = settings.automation.run_in_serve
        pool = BrowserPool(settings.automation)
        if drives:
            await stack.enter_async_context(pool)
        else:  # workers drive the items; this pool never launches a browser
            log.info("automation.run_in_serve = false: items are left to `fleetbot worker`s")
        health = StorageHealth()
        alerts = StorageAlerts(bot, settings.bot.admins, language)
        health.subscribe(alerts)
        stack.push_async_callback(alerts.close)
        runner = make_runner(
            config=settings.automation,
            sites=settings.sites,
            data_dir=data_dir,
            secrets=db.secrets,
            pool=pool,
            reporter=reporter,
            operator=ChatOperator(db.secrets, settings.bot.admins, on_asked=outbox.wake),
            health=health,
        )
        if drives:
            await stack.enter_async_context(runner)
        scheduler = await stack.enter_async_context(
            FleetScheduler(
                SchedulerSettings(
                    timezone=settings.scheduler.timezone,
                    misfire_grace_s=settings.scheduler.misfire_grace_s,
                    warmup_duration_s=settings.automation.warmup_duration_s,
                    admins=settings.bot.admins,
                ),
                runs,
                on_run_created=lambda _run_id: runner.wake(),
                on_notified=outbox.wake,
            )
        )
        dispatcher = make_dispatcher(
            settings,
            bot=bot,
            secrets=db.secrets,
            runs=runs,
            runner=runner,
            pool=pool,
            scheduler=scheduler,
            reporter=reporter,
        )
        yield App(settings, bot, dispatcher, runner, outbox, reporter, serve_lock)


async def _check_token(bot: Bot) -> None:
    try:
        me = await bot.get_me()
    except TelegramUnauthorizedError:
        raise StartupError("Telegram refused the bot token (bot.token)") from None
    except TelegramNetworkError as exc:
        raise StartupError(f"cannot reach the Bot API: {type(exc).__name__}") from None
    log.info("bot @%s (id %d) starting", me.username, me.id)


async def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT, then shut down gracefully; returns the exit status."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with build(settings) as app:
            await app.bot.set_my_commands(
                [BotCommand(command=name, description=text) for name, text in COMMANDS]
            )
            await _run_until(app, stop)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return 0


async def _run_until(app: App, stop: asyncio.Event) -> None:
    dp = app.dispatcher
    config = app.settings.bot
    if config.mode == "webhook":
        updates = serve_webhook(app.bot, dp, config)
    else:
        await app.bot.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
        updates = dp.start_polling(
            app.bot,
            handle_signals=False,
            close_bot_session=False,
            allowed_updates=dp.resolve_used_update_types(),
        )
    tasks: set[asyncio.Task[Any]] = {
        asyncio.create_task(app.outbox.run(), name="outbox"),
        asyncio.create_task(updates, name="updates"),
        asyncio.create_task(
            ProgressWatch(app.reporter, config.progress_edit_s).run(), name="watch"
        ),
        # Ends only with ServeLocked (another serve took the lock in an outage): stop.
        asyncio.create_task(app.serve_lock.keep(), name="serve-lock"),
    }
    if app.settings.automation.run_in_serve:
        tasks.add(asyncio.create_task(app.runner.serve(), name="runner"))
    stopper = asyncio.create_task(stop.wait(), name="stop-signal")
    done, _ = await asyncio.wait({*tasks, stopper}, return_when=asyncio.FIRST_COMPLETED)
    log.info("shutting down")
    receiving = next(t for t in tasks if t.get_name() == "updates")
    if config.mode == "webhook":
        receiving.cancel()
    elif not receiving.done():
        with contextlib.suppress(RuntimeError):  # polling had not started yet
            await dp.stop_polling()
    for task in tasks:
        if task.get_name() == "runner":
            task.cancel()
            await app.runner.stop(app.settings.bot.shutdown_grace_s)
        elif task.get_name() in ("watch", "serve-lock"):
            task.cancel()
    await app.reporter.close()
    outbox_task = next(t for t in tasks if t.get_name() == "outbox")
    # A delivery in hand ends first: cancelled, its message could be sent twice.
    app.outbox.stop()
    await asyncio.wait({outbox_task}, timeout=OUTBOX_FLUSH_S)
    outbox_task.cancel()
    stopper.cancel()
    results = await asyncio.gather(*tasks, stopper, return_exceptions=True)
    left = await app.outbox.flush(OUTBOX_FLUSH_S)
    if left:
        log.info("%d notifications stay in the outbox for the next start", left)
    for task, result in zip([*tasks, stopper], results, strict=True):
        if (
            task in done
            and isinstance(result, BaseException)
            and not isinstance(result, asyncio.CancelledError)
        ):
            raise result

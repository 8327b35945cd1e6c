"""The one factory of the bot's dispatcher: routers, shared middlewares, handlers' services.

``fleetbot serve`` and the tests that drive the real bot both call ``make_dispatcher``, so
what a handler receives is decided here once and cannot drift between them.
"""

from __future__ import annotations

from aiogram import Bot, Dispatcher

from automation.accounts import AccountService
from automation.browser import BrowserPool
from automation.questions import QuestionDesk
from automation.runner import Runner
from automation.runs import RunService
from automation.scheduler import FleetScheduler
from automation.schedules import ScheduleService
from automation.site_check import SiteChecker
from automation.videoqueue import VideoQueue
from bot.config import Settings
from bot.handlers import build_router
from bot.launcher import Launcher
from bot.media import MediaIntake
from bot.progress import TelegramReporter
from bot.status import StatusSource
from storage.crypto import SecretBox


def make_dispatcher(
    settings: Settings,
    *,
    bot: Bot,
    secrets: SecretBox,
    runs: RunService,
    runner: Runner,
    pool: BrowserPool,
    scheduler: FleetScheduler,
    reporter: TelegramReporter | None = None,
) -> Dispatcher:
    """A dispatcher with fresh routers whose workflow data carries every handler's service."""
    dispatcher = Dispatcher(
        settings=settings,
        runs=runs,
        accounts=AccountService(secrets, settings.storage.data_dir),
        media=MediaIntake(
            bot, runs, settings.storage.data_dir, limit_mb=settings.bot.download_limit_mb
        ),
        launcher=Launcher(bot, runs, runner.wake, reporter.attached if reporter else None),
        questions=QuestionDesk(secrets),
        status_source=StatusSource(runner, pool, scheduler.next_fires),
        schedules=ScheduleService(settings.scheduler.timezone),
        scheduler=scheduler,
        queue=VideoQueue(runs),
        site_checks=SiteChecker(
            pool,
            settings.sites,
            secrets,
            navigation_timeout_s=settings.automation.navigation_timeout_s,
        ),
    )
    dispatcher.include_router(
        build_router(settings.bot.admins, settings.bot.language, settings.bot.allowed_chats)
    )
    return dispatcher

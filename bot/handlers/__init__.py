"""The bot's routers, assembled under one parent that carries the shared middlewares.

Every event type of the parent router passes the admins-only check first, so a handler
added to any child router cannot escape it.
"""

from __future__ import annotations

from aiogram import Router

from bot.handlers import accounts, answers, common, runs, schedules, sites
from bot.i18n import Choice
from bot.middlewares import AdminsOnly, Language, ReplyErrors

CHILDREN = (
    common.router,
    runs.router,
    schedules.router,
    accounts.router,
    sites.router,
    answers.router,
)


def build_router(
    admins: tuple[int, ...], language: Choice, allowed_chats: tuple[int, ...] = ()
) -> Router:
    """The parent router holding every handler router, with the shared middlewares."""
    parent = Router(name="fleetbot")
    access = AdminsOnly(admins, language, allowed_chats)
    for observer in parent.observers.values():
        observer.outer_middleware(access)
    for observer in (parent.message, parent.callback_query):
        observer.middleware(Language(language))
        observer.middleware(ReplyErrors())
    parent.include_routers(*CHILDREN)  # a router attaches once: one bot per process
    return parent

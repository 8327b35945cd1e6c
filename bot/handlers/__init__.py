"""The bot's routers, made fresh and assembled under one parent that carries the middlewares.

Every event type of the parent router passes the admins-only check first, so a handler
added to any child router cannot escape it. Routers are built by functions, never held at
module level: aiogram attaches a router to one parent only, and each dispatcher (serve,
a test) gets its own.
"""

from __future__ import annotations

from aiogram import Router

from bot.handlers import accounts, answers, common, runs, schedules, sites
from bot.i18n import Choice
from bot.middlewares import AdminsOnly, Language, ReplyErrors


def get_routers() -> list[Router]:
    """A fresh router per handler module, in the order updates should try them."""
    modules = (common, runs, schedules, accounts, sites, answers)
    return [module.make_router() for module in modules]


def build_router(
    admins: tuple[int, ...], language: Choice, allowed_chats: tuple[int, ...] = ()
) -> Router:
    """A fresh parent router holding every handler router, with the shared middlewares."""
    parent = Router(name="fleetbot")
    access = AdminsOnly(admins, language, allowed_chats)
    for observer in parent.observers.values():
        observer.outer_middleware(access)
    for observer in (parent.message, parent.callback_query):
        observer.middleware(Language(language))
        observer.middleware(ReplyErrors())
    parent.include_routers(*get_routers())
    return parent

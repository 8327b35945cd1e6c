"""/check LABEL: the read-only probe of an account's site (``fleetbot sites check``)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from automation.accounts import AccountService
from automation.errors import FleetbotError, SiteError
from automation.site_check import SiteChecker
from bot.i18n import Texts
from bot.parsing import UsageError, split_args
from bot.views import fit


def make_router() -> Router:
    """A fresh router with the /check handler."""
    router = Router(name="sites")
    router.message.register(check_site, Command("check"))
    return router


async def check_site(
    message: Message, t: Texts, accounts: AccountService, site_checks: SiteChecker
) -> None:
    """/check LABEL: logged in or not, then each selector found or missing (never posts)."""
    args = split_args(message.text)
    if len(args) != 1:
        raise UsageError("usage", command="check")
    account = await accounts.get(args[0])
    await message.answer(t("check-started", label=account.label, site=account.site))
    try:
        report = await site_checks.check(account.site, account.label)
    except SiteError as exc:
        raise FleetbotError(f"the check could not finish: {exc}") from None
    await message.answer(fit("\n".join(report.lines())))

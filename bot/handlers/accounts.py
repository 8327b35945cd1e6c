"""/accounts with paging, and documents captioned /import or /session LABEL."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from automation.accounts import AccountService, CsvImportError, parse_accounts_csv
from automation.session_files import SessionFileError, parse_session
from bot.i18n import Texts
from bot.media import MediaIntake
from bot.parsing import UsageError, is_id, split_args
from bot.views import accounts_page, fit

log = logging.getLogger(__name__)


def make_router() -> Router:
    """A fresh router for /accounts and the documents it takes."""
    router = Router(name="accounts")
    router.message.register(list_accounts, Command("accounts"))
    router.callback_query.register(page_accounts, F.data.startswith("acc:"))
    router.message.register(import_accounts, F.document, Command("import"))
    router.message.register(set_session, F.document, Command("session"))
    router.message.register(unknown_document, F.document)  # last: captions we do not know
    return router


async def list_accounts(message: Message, t: Texts, accounts: AccountService) -> None:
    """/accounts: the first page."""
    text, markup = accounts_page(t, await accounts.list_accounts(), 0)
    await message.answer(text, reply_markup=markup)


async def page_accounts(query: CallbackQuery, t: Texts, accounts: AccountService) -> None:
    """The paging buttons under /accounts."""
    raw = (query.data or "").removeprefix("acc:")
    await query.answer()
    if not is_id(raw) or raw.startswith("#") or not isinstance(query.message, Message):
        return
    text, markup = accounts_page(t, await accounts.list_accounts(), int(raw))
    with contextlib.suppress(TelegramBadRequest):  # the same page again: nothing changed
        await query.message.edit_text(text, reply_markup=markup)


async def import_accounts(
    message: Message, t: Texts, accounts: AccountService, media: MediaIntake
) -> None:
    """A CSV document captioned /import: all rows or none, every bad line reported."""
    assert message.document is not None
    async with _secret_document(message, t):
        data = await media.read_document(message.document.file_id, message.document.file_size)
        try:
            rows = parse_accounts_csv(data)
            labels = await accounts.import_rows(rows)
        except CsvImportError as exc:
            await message.answer(fit("\n".join([t("import-failed"), *exc.problems])))
            return
        await message.answer(fit(t("import-done", count=len(labels), labels=", ".join(labels))))


async def set_session(
    message: Message, t: Texts, accounts: AccountService, media: MediaIntake
) -> None:
    """A cookies / storage_state document captioned /session LABEL."""
    assert message.document is not None
    async with _secret_document(message, t):
        args = split_args(message.caption)
        if len(args) != 1:
            raise UsageError("usage", command="session")
        data = await media.read_document(message.document.file_id, message.document.file_size)
        try:
            state = parse_session(data)
        except SessionFileError as exc:
            await message.answer(t("error", message=str(exc)))
            return
        cookies = await accounts.set_session(args[0], state)
        await message.answer(t("session-set", label=args[0], cookies=cookies))


@contextlib.asynccontextmanager
async def _secret_document(message: Message, t: Texts) -> AsyncIterator[None]:
    """Delete the document once handled, whatever the outcome, and say so.

    An accounts CSV or a session file holds passwords or live cookies even when it is
    rejected (a bad row, an unknown label, a file that does not parse).
    """
    try:
        yield
    finally:
        try:
            await message.delete()
            note = t("document-deleted")
        except TelegramBadRequest as exc:
            log.warning("could not delete a document holding secrets: %s", exc)
            note = t("document-not-deleted")
        await message.answer(note)


async def unknown_document(message: Message, t: Texts) -> None:
    """A document without a caption we know."""
    await message.answer(t("document-needs-caption"))

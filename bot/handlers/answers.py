"""Plain replies that answer a site's question (a one-time code)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.i18n import Texts
from bot.operator import QuestionBox


def make_router() -> Router:
    """A fresh router for plain-text replies to a site's question."""
    router = Router(name="answers")
    router.message.register(answer_question, F.text, ~F.text.startswith("/"))
    return router


async def answer_question(message: Message, t: Texts, questions: QuestionBox) -> None:
    """Hand a reply to a question's message to that question; other text answers nothing."""
    if not questions.waiting_in(message.chat.id):
        return
    if message.reply_to_message is None:
        await message.answer(t("question-reply-needed"))
        return
    account = questions.answer(
        message.chat.id, message.text or "", message.reply_to_message.message_id
    )
    if account is None:
        await message.answer(t("question-expired"))
    else:
        await message.answer(t("question-answered", account=account))

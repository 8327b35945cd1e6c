"""Plain replies that answer a site's question (a one-time code).

The question is a database row (``automation/questions.py``), so the runner waiting for
the answer may be this process or a ``fleetbot worker`` on another machine.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from automation.questions import QuestionDesk, Reply
from bot.i18n import Texts


def make_router() -> Router:
    """A fresh router for plain-text replies to a site's question."""
    router = Router(name="answers")
    router.message.register(answer_question, F.text, ~F.text.startswith("/"))
    return router


async def answer_question(message: Message, t: Texts, questions: QuestionDesk) -> None:
    """Store a reply to a question's message as its answer; other text answers nothing."""
    replied = message.reply_to_message
    outcome = await questions.answer(
        message.chat.id, message.text or "", replied.message_id if replied else None
    )
    if outcome.reply == Reply.REPLY_NEEDED:
        await message.answer(t("question-reply-needed"))
    elif outcome.reply == Reply.EXPIRED:
        await message.answer(t("question-expired"))
    elif outcome.reply == Reply.ANSWERED:
        await message.answer(t("question-answered", account=outcome.account or ""))

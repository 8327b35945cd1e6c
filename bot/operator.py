"""Human in the loop over Telegram: a site asks, the operator replies, the page goes on.

The question goes through the outbox (a photo of the page with a ForceReply naming the
account); the answer is an admin's reply to that very message and nothing else, so no
other text in the chat (another member's, a message meant for something else) can become
a one-time code. Waiting is in memory on purpose: if the process dies, the item's lease
expires and the item runs again, asking again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from automation.notifications import enqueue
from automation.reporting import Question
from automation.retention import question_screenshot
from bot.i18n import texts
from bot.outbox import Outbox
from storage.models import Run


@dataclass
class _Open:
    item_id: int
    chat_id: int
    account: str
    answer: asyncio.Future[str] = field(repr=False)
    message_id: int | None = None


class QuestionBox:
    """The questions waiting for an answer right now, by item."""

    def __init__(self) -> None:
        self._open: dict[int, _Open] = {}

    def open(self, item_id: int, chat_id: int, account: str) -> asyncio.Future[str]:
        """Register a question; the future resolves with the answer."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._open[item_id] = _Open(item_id, chat_id, account, future)
        return future

    def close(self, item_id: int) -> None:
        """Forget a question (answered, timed out or cancelled)."""
        self._open.pop(item_id, None)

    def sent(self, item_id: int, message_id: int) -> None:
        """The outbox delivered the question as this message."""
        if (question := self._open.get(item_id)) is not None:
            question.message_id = message_id

    def answer(self, chat_id: int, text: str, reply_to: int) -> str | None:
        """Answer the open question whose message this replies to; returns its account."""
        target = next(
            (q for q in self._open.values() if q.chat_id == chat_id and q.message_id == reply_to),
            None,
        )
        if target is None or target.answer.done():
            return None
        target.answer.set_result(text.strip())
        return target.account

    def waiting_in(self, chat_id: int) -> bool:
        """Whether a question in this chat waits for an answer."""
        return any(q.chat_id == chat_id for q in self._open.values())


class TelegramOperator:
    """The runner's Operator: asks the run's chat, or the first admin for other runs."""

    def __init__(
        self,
        questions: QuestionBox,
        outbox: Outbox,
        admins: tuple[int, ...],
        questions_dir: Path,
        default_language: str,
    ) -> None:
        self._questions = questions
        self._outbox = outbox
        self._admins = admins
        self._dir = questions_dir
        self._language = default_language

    async def ask(self, question: Question) -> str | None:
        """Send the question and wait for the reply (the runner enforces the timeout)."""
        run = await Run.get_or_none(id=question.run_id)
        chat_id = run.chat_id if run is not None and run.chat_id else None
        if chat_id is None and self._admins:
            chat_id = self._admins[0]
        if chat_id is None:
            return None
        language = str((run.params.get("lang") if run else None) or self._language)
        payload: dict[str, object] = {"item_id": question.item_id}
        if question.screenshot:
            photo = question_screenshot(self._dir, question.item_id)
            await asyncio.to_thread(_write, photo, question.screenshot)
            payload["photo"] = str(photo)
        answer = self._questions.open(question.item_id, chat_id, question.account)
        try:
            await enqueue(
                chat_id,
                "question",
                texts(language)(
                    "question",
                    account=question.account,
                    run_id=question.run_id,
                    prompt=question.prompt,
                ),
                payload=payload,
                run_id=question.run_id,
            )
            self._outbox.wake()
            return await answer
        finally:
            self._questions.close(question.item_id)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(data)

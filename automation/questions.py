"""Human in the loop through the database: one path for serve and for every worker.

A site asks a question (a one-time code). ``ChatOperator.ask`` writes an ``AskedQuestion``
row, with the page's screenshot encrypted, and owes the chat a "question" notification in
the same transaction; then it polls the row. ``fleetbot serve`` sends the question
(``bot/outbox.py``, which records the message id and drops the screenshot) and stores an
admin's reply to that message, encrypted (``QuestionDesk.answer``, called by
``bot/handlers/answers.py``). The asking runner takes the answer, which clears it. Whichever
process asked, on whatever machine, the row is where both sides meet.

The runner's timeout cancels the wait and the row is expired; a new question for the same
item expires older open ones (asked by a runner that died while waiting).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from automation.notifications import enqueue
from automation.reporting import Question
from storage.crypto import SecretBox
from storage.health import STORAGE_ERRORS, describe
from storage.models import AskedQuestion, QuestionStatus, Run

log = logging.getLogger(__name__)

POLL_S = 0.5
WAITING = (QuestionStatus.OPEN, QuestionStatus.ANSWERED)


class ChatOperator:
    """The runner's Operator in serve and ``fleetbot worker``: the run's chat, else an admin.

    ``on_asked`` is called once a question is stored (serve wakes its outbox with it).
    """

    def __init__(
        self,
        secrets: SecretBox,
        admins: Sequence[int],
        *,
        poll_s: float = POLL_S,
        on_asked: Callable[[], None] | None = None,
    ) -> None:
        self._secrets = secrets
        self._admins = tuple(admins)
        self._poll_s = poll_s
        self._on_asked = on_asked

    async def ask(self, question: Question) -> str | None:
        """Store the question, owe the chat its message, wait for the answer in the row.

        The caller's timeout (a cancellation) ends the wait; the row is then expired.
        """
        run = await Run.get_or_none(id=question.run_id)
        chat_id = run.chat_id if run is not None and run.chat_id else None
        if chat_id is None and self._admins:
            chat_id = self._admins[0]
        if chat_id is None:
            return None
        question_id = await self._open(question, chat_id)
        if self._on_asked is not None:
            self._on_asked()
        try:
            return await self._wait(question_id)
        finally:
            await self._close(question_id)

    async def _open(self, question: Question, chat_id: int) -> int:
        screenshot = None
        if question.screenshot:
            sealed = await asyncio.to_thread(self._secrets.encrypt_bytes, question.screenshot)
            screenshot = sealed.decode("ascii")
        async with in_transaction():
            await _expire(AskedQuestion.filter(item_id=question.item_id, status__in=WAITING))
            row = await AskedQuestion.create(
                item_id=question.item_id,
                run_id=question.run_id,
                chat_id=chat_id,
                account=question.account,
                prompt=question.prompt,
                screenshot_enc=screenshot,
            )
            await enqueue(
                chat_id,
                "question",
                question.prompt,
                payload={"question_id": row.id},
                run_id=question.run_id,
                dedupe_key=f"question:{row.id}",
            )
        log.info("item %d asks chat %d (question %d)", question.item_id, chat_id, row.id)
        return row.id

    async def _wait(self, question_id: int) -> str | None:
        """Poll the row until an answer is taken, or it is closed elsewhere (None)."""
        while True:
            try:
                rows = await AskedQuestion.filter(id=question_id).values("status", "answer_enc")
                if not rows:  # its run or item was deleted
                    return None
                status = QuestionStatus(rows[0]["status"])
                if status == QuestionStatus.ANSWERED:
                    answer = self._secrets.decrypt(str(rows[0]["answer_enc"] or ""))
                    taken = await AskedQuestion.filter(
                        id=question_id, status=QuestionStatus.ANSWERED
                    ).update(
                        status=QuestionStatus.TAKEN,
                        answer_enc=None,
                        screenshot_enc=None,
                        closed_at=datetime.now(UTC),
                    )
                    if taken:
                        return answer
                    continue
                if status != QuestionStatus.OPEN:
                    return None  # replaced by a newer question of the same item
            except STORAGE_ERRORS as exc:  # the timeout still bounds the wait
                log.warning("question %d: cannot read its row: %s", question_id, describe(exc))
            await asyncio.sleep(self._poll_s)

    @staticmethod
    async def _close(question_id: int) -> None:
        try:
            expired = await _expire(AskedQuestion.filter(id=question_id, status__in=WAITING))
        except STORAGE_ERRORS as exc:  # a newer question of the item expires it
            log.warning("question %d: cannot expire it: %s", question_id, describe(exc))
            return
        if expired:
            log.info("question %d expired unanswered", question_id)


async def _expire(rows: QuerySet[AskedQuestion]) -> int:
    """Close these questions for good: no answer or screenshot is kept."""
    count: int = await rows.update(
        status=QuestionStatus.EXPIRED,
        answer_enc=None,
        screenshot_enc=None,
        closed_at=datetime.now(UTC),
    )
    return count


class Reply(StrEnum):
    """What a chat message turned out to be, for the reply serve sends."""

    IGNORED = "ignored"  # no question in the chat: the text is not for us
    REPLY_NEEDED = "reply_needed"  # a question waits, but the text replies to nothing
    EXPIRED = "expired"  # it replies to a question nobody waits for any more
    ANSWERED = "answered"


@dataclass(frozen=True)
class ReplyOutcome:
    """The outcome of a reply, and the account whose question it answered."""

    reply: Reply
    account: str | None = None


class QuestionDesk:
    """Serve's side: an admin's reply to a question's message becomes its (encrypted) answer.

    Only a reply to that very message counts, so no other text in the chat can become a
    one-time code. The first reply wins; later ones are told the question is closed.
    """

    def __init__(self, secrets: SecretBox) -> None:
        self._secrets = secrets

    async def answer(self, chat_id: int, text: str, reply_to: int | None) -> ReplyOutcome:
        """Store ``text`` as the answer of the question ``reply_to`` is in this chat."""
        if reply_to is not None:
            asked = (
                await AskedQuestion.filter(chat_id=chat_id, message_id=reply_to)
                .order_by("-id")
                .first()
            )
            if asked is not None:
                stored = await AskedQuestion.filter(
                    id=asked.id, status=QuestionStatus.OPEN
                ).update(
                    status=QuestionStatus.ANSWERED,
                    answer_enc=self._secrets.encrypt(text.strip()),
                    answered_at=datetime.now(UTC),
                )
                if stored:
                    return ReplyOutcome(Reply.ANSWERED, asked.account)
                return ReplyOutcome(Reply.EXPIRED)
        if not await AskedQuestion.exists(chat_id=chat_id, status=QuestionStatus.OPEN):
            return ReplyOutcome(Reply.IGNORED)
        return ReplyOutcome(Reply.REPLY_NEEDED if reply_to is None else Reply.EXPIRED)


__all__ = ["POLL_S", "ChatOperator", "QuestionDesk", "Reply", "ReplyOutcome"]

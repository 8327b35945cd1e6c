"""Questions to a human through the database: the asking runner and serve meet on one row.

``ChatOperator`` is what serve's and every worker's runner ask with, ``QuestionDesk`` is
what serve's answers handler stores replies with; here both run against a real SQLite
database, the way two processes would (they share nothing but the rows).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from tortoise import connections

from automation.accounts import AccountRow, AccountService
from automation.questions import ChatOperator, QuestionDesk, Reply
from automation.reporting import Question
from automation.runs import Requester, RunService
from bot.floodgate import ChatGate
from bot.outbox import Outbox
from storage.config import StorageConfig
from storage.db import Database
from storage.models import AskedQuestion, Notification, QuestionStatus, RunItem, Trigger
from tests.fake_telegram import FakeBotAPI

ADMIN, CHAT = 1001, 5005
PNG = b"\x89PNG\r\n\x1a\n" + b"page-with-account-data" * 50
CODE = "482913"
TOKEN = "123456:questions-test"


@dataclass
class Desk:
    """Both sides of a question, and what they share."""

    db: Database
    runs: RunService
    desk: QuestionDesk
    asked: asyncio.Event

    def operator(
        self, *, poll_s: float = 0.05, admins: tuple[int, ...] = (ADMIN,)
    ) -> ChatOperator:
        self.asked.clear()
        return ChatOperator(self.db.secrets, admins, poll_s=poll_s, on_asked=self.asked.set)

    async def item(self, chat_id: int | None = CHAT) -> Question:
        """A run with one item, and the question its page asks."""
        trigger = Trigger.MANUAL if chat_id is not None else Trigger.CLI
        run = await self.runs.create_warmup(
            "demo1", duration_s=0, requester=Requester(trigger, chat_id=chat_id)
        )
        item = await RunItem.get(run_id=run.id)
        return Question(run.id, item.id, "demo1", "Enter the code", PNG)

    async def ask(
        self, operator: ChatOperator, question: Question
    ) -> tuple[asyncio.Task[str | None], AskedQuestion]:
        """Start asking; return the waiting task and the row once it is written."""
        task = asyncio.create_task(operator.ask(question))
        await asyncio.wait_for(self.asked.wait(), 30)
        row = await AskedQuestion.filter(item_id=question.item_id).order_by("-id").first()
        assert row is not None
        return task, row

    @staticmethod
    async def sent_as(row: AskedQuestion, message_id: int) -> None:
        """What serve's outbox records once the question's message is in the chat."""
        await AskedQuestion.filter(id=row.id).update(message_id=message_id)


@pytest.fixture
async def desk(db: Database) -> AsyncIterator[Desk]:
    await AccountService(db.secrets).import_rows([AccountRow("demo1", "demo", "demo1", "pw")])
    yield Desk(db, RunService(db.config.data_dir), QuestionDesk(db.secrets), asyncio.Event())


async def raw_row(question_id: int) -> dict[str, object]:
    """The row as the database file holds it, past the ORM."""
    rows = await connections.get("sqlite").execute_query_dict(
        "SELECT * FROM question WHERE id = ?", [question_id]
    )
    return dict(rows[0])


async def test_an_answer_in_the_chat_reaches_the_asking_runner(desk: Desk) -> None:
    question = await desk.item()
    task, row = await desk.ask(desk.operator(), question)
    assert (row.chat_id, row.account, row.prompt) == (CHAT, "demo1", "Enter the code")
    assert row.status == QuestionStatus.OPEN
    [note] = await Notification.filter(kind="question")
    assert (note.chat_id, note.payload) == (CHAT, {"question_id": row.id})
    await desk.sent_as(row, 77)

    outcome = await desk.desk.answer(CHAT, f" {CODE} ", reply_to=77)
    assert (outcome.reply, outcome.account) == (Reply.ANSWERED, "demo1")
    assert await asyncio.wait_for(task, 30) == CODE
    taken = await AskedQuestion.get(id=row.id)
    assert taken.status == QuestionStatus.TAKEN
    assert (taken.answer_enc, taken.screenshot_enc) == (None, None)  # nothing kept
    assert taken.answered_at is not None and taken.closed_at is not None


async def test_the_answer_and_the_page_are_stored_encrypted(desk: Desk) -> None:
    question = await desk.item()
    # The runner looks once, then not for an hour: the answer stays in the row meanwhile.
    task, row = await desk.ask(desk.operator(poll_s=3600), question)
    stored = await raw_row(row.id)
    assert b"page-with-account-data" not in str(stored["screenshot_enc"]).encode()
    assert desk.db.secrets.decrypt_bytes(str(stored["screenshot_enc"]).encode()) == PNG
    await desk.sent_as(row, 78)
    await desk.desk.answer(CHAT, CODE, reply_to=78)

    stored = await raw_row(row.id)
    assert stored["status"] == "answered"
    assert CODE not in str(stored["answer_enc"])
    assert desk.db.secrets.decrypt(str(stored["answer_enc"])) == CODE
    task.cancel()  # the runner's timeout
    with pytest.raises(asyncio.CancelledError):
        await task
    stored = await raw_row(row.id)
    assert (stored["status"], stored["answer_enc"], stored["screenshot_enc"]) == (
        "expired",
        None,
        None,
    )


async def test_the_runners_timeout_expires_the_question(desk: Desk) -> None:
    question = await desk.item()
    operator = desk.operator()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):  # as automation/attempt.py bounds the wait
            await operator.ask(question)
    row = await AskedQuestion.get(item_id=question.item_id)
    assert row.status == QuestionStatus.EXPIRED
    assert row.closed_at is not None and row.screenshot_enc is None
    await desk.sent_as(row, 79)
    outcome = await desk.desk.answer(CHAT, CODE, reply_to=79)  # too late
    assert outcome.reply == Reply.EXPIRED
    assert (await AskedQuestion.get(id=row.id)).answer_enc is None


async def test_asking_again_expires_the_items_older_question(desk: Desk) -> None:
    question = await desk.item()
    first, old = await desk.ask(desk.operator(), question)  # a runner that then died
    second, new = await desk.ask(desk.operator(), question)
    assert await asyncio.wait_for(first, 30) is None  # its row was closed under it
    assert (await AskedQuestion.get(id=old.id)).status == QuestionStatus.EXPIRED
    await desk.sent_as(old, 80)
    await desk.sent_as(new, 81)
    assert (await desk.desk.answer(CHAT, CODE, reply_to=80)).reply == Reply.EXPIRED
    assert (await desk.desk.answer(CHAT, CODE, reply_to=81)).reply == Reply.ANSWERED
    assert await asyncio.wait_for(second, 30) == CODE


async def test_a_run_without_a_chat_asks_the_first_admin(desk: Desk) -> None:
    question = await desk.item(chat_id=None)  # a CLI or worker-only run
    task, row = await desk.ask(desk.operator(admins=(ADMIN, 2002)), question)
    assert row.chat_id == ADMIN
    await desk.sent_as(row, 82)
    assert (await desk.desk.answer(CHAT, CODE, reply_to=82)).reply == Reply.IGNORED  # other chat
    assert (await desk.desk.answer(ADMIN, CODE, reply_to=82)).reply == Reply.ANSWERED
    assert await asyncio.wait_for(task, 30) == CODE


async def test_nobody_to_ask_is_no_answer_and_no_row(desk: Desk) -> None:
    question = await desk.item(chat_id=None)
    assert await desk.operator(admins=()).ask(question) is None
    assert not await AskedQuestion.exists()


async def test_text_that_is_no_reply_to_a_question(desk: Desk) -> None:
    assert (await desk.desk.answer(CHAT, "hello", reply_to=None)).reply == Reply.IGNORED
    question = await desk.item()
    task, row = await desk.ask(desk.operator(), question)
    await desk.sent_as(row, 83)
    assert (await desk.desk.answer(CHAT, CODE, reply_to=None)).reply == Reply.REPLY_NEEDED
    assert (await desk.desk.answer(CHAT, CODE, reply_to=12)).reply == Reply.EXPIRED
    assert (await AskedQuestion.get(id=row.id)).status == QuestionStatus.OPEN
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.xdist_group("postgres")
async def test_a_question_is_answered_through_postgres(pg_url: str, tmp_path: Path) -> None:
    config = StorageConfig(data_dir=tmp_path / "data", db_url=pg_url)
    async with Database(config) as db:
        await AccountService(db.secrets).import_rows([AccountRow("demo1", "demo", "demo1")])
        desk = Desk(db, RunService(config.data_dir), QuestionDesk(db.secrets), asyncio.Event())
        question = await desk.item()
        task, row = await desk.ask(desk.operator(), question)
        await desk.sent_as(row, 2**40)  # message ids are 64-bit
        assert (await desk.desk.answer(CHAT, CODE, reply_to=2**40)).reply == Reply.ANSWERED
        assert await asyncio.wait_for(task, 30) == CODE
        assert (await AskedQuestion.get(id=row.id)).status == QuestionStatus.TAKEN


async def test_serves_outbox_sends_the_page_from_the_row(desk: Desk) -> None:
    """What serve's outbox does with a question a runner (anywhere) stored."""
    question = await desk.item()
    task, row = await desk.ask(desk.operator(poll_s=3600), question)
    async with FakeBotAPI(token=TOKEN) as api:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url)))
        try:
            outbox = Outbox(
                bot,
                desk.runs,
                ChatGate(),
                default_language="en",
                send_screenshots=False,
                secrets=desk.db.secrets,
            )
            await outbox.send_due()
        finally:
            await bot.session.close()
    [call] = [c for c in api.calls if c.method == "sendPhoto"]
    assert call.params["caption"].startswith(f"Account demo1 (run #{question.run_id}) asks")
    assert "force_reply" in call.params["reply_markup"]
    assert list(call.files.values()) == [PNG]
    [message] = api.sent(CHAT)
    sent = await AskedQuestion.get(id=row.id)
    assert (sent.message_id, sent.screenshot_enc) == (message["message_id"], None)
    assert sent.sent_at is not None and sent.status == QuestionStatus.OPEN
    assert (await desk.desk.answer(CHAT, CODE, message["message_id"])).reply == Reply.ANSWERED
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

"""What the chat shows and keeps: secret files leave it, other chats get nothing.

The real dispatcher with the real routers and services over a real database, fed updates
that the fake Bot API recorded, so deletions and replies are the fake's own records.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Update

from automation.accounts import AccountRow, AccountService
from automation.questions import ChatOperator, QuestionDesk
from automation.reporting import Question
from automation.runs import Requester, RunService
from bot.handlers import build_router
from bot.media import MediaIntake
from storage.db import Database
from storage.models import Account, AskedQuestion, QuestionStatus, RunItem, Trigger
from tests.fake_telegram import FakeBotAPI

ADMIN, MEMBER = 1001, 3003
GROUP, ALLOWED_GROUP = -100200300, -100400500
TOKEN = "123456:chat-security-test"
HEADER = "label,site,username,password,proxy,tags\n"
PASSWORD = "hunter2-SECRET"
PROXY_PASSWORD = "proxy-SECRET"
COOKIE = "cookie-SECRET-value"


@dataclass
class Chat:
    """A dispatcher built like serve builds it, and the fake that records what it did."""

    api: FakeBotAPI
    bot: Bot
    dispatcher: Dispatcher
    operator: ChatOperator
    asked: asyncio.Event
    runs: RunService
    accounts: AccountService
    updates: int = 0

    async def send(self, chat_id: int, text: str | None, **extra: Any) -> dict[str, Any]:
        """Inject a message into the fake and hand it to the dispatcher; return it."""
        message = self.api.inject_message(chat_id, text, **extra)
        self.updates += 1
        update = Update.model_validate({"update_id": self.updates, "message": message})
        await self.dispatcher.feed_update(self.bot, update)
        return message

    def replies(self, chat_id: int) -> list[str]:
        return [str(m.get("text") or m.get("caption") or "") for m in self.api.sent(chat_id)]

    def deleted(self) -> list[int]:
        return [int(c.params["message_id"]) for c in self.api.calls if c.method == "deleteMessage"]

    def everything_sent(self) -> str:
        return json.dumps([c.params for c in self.api.calls], default=str)


@pytest.fixture(scope="module")
def dispatcher() -> Dispatcher:
    """The real routers and access middleware (made fresh, so no other test shares them);
    each test adds the services its handlers use."""
    dp = Dispatcher()
    dp.include_router(build_router((ADMIN,), "en", allowed_chats=(ALLOWED_GROUP,)))
    return dp


@pytest.fixture
async def chat(db: Database, dispatcher: Dispatcher) -> AsyncIterator[Chat]:
    data_dir = db.config.data_dir
    async with FakeBotAPI(token=TOKEN) as api:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url)))
        runs = RunService(data_dir)
        dp = dispatcher
        accounts = AccountService(db.secrets)
        dp["accounts"] = accounts
        dp["media"] = MediaIntake(bot, runs, data_dir, limit_mb=20)
        dp["questions"] = QuestionDesk(db.secrets)
        asked = asyncio.Event()
        operator = ChatOperator(db.secrets, (ADMIN,), poll_s=0.05, on_asked=asked.set)
        try:
            yield Chat(api, bot, dp, operator, asked, runs, accounts)
        finally:
            await bot.session.close()


def csv_file(text: str) -> tuple[bytes, str, str]:
    return (text.encode(), "accounts.csv", "text/csv")


@pytest.mark.parametrize(
    "contents",
    [
        pytest.param(HEADER + f"a1,demo,u1,{PASSWORD},,\n", id="imported"),
        pytest.param(HEADER + f"a1,nosuchsite,u1,{PASSWORD},,\n", id="bad-row"),
        pytest.param(
            HEADER + f"a1,demo,u1,,http://pu:{PROXY_PASSWORD}@10.0.0.1:3128,\n",
            id="proxy-password-only",
        ),
        pytest.param(f"a1,demo,u1,{PASSWORD},,\n", id="no-header"),
    ],
)
async def test_every_import_document_leaves_the_chat(chat: Chat, contents: str) -> None:
    sent = await chat.send(ADMIN, None, caption="/import", document=csv_file(contents))
    assert chat.deleted() == [sent["message_id"]]
    assert "deleted your file" in chat.replies(ADMIN)[-1]
    assert PASSWORD not in chat.everything_sent()
    assert PROXY_PASSWORD not in chat.everything_sent()


@pytest.mark.parametrize(
    ("caption", "contents"),
    [
        pytest.param("/session a1", "not\ta cookies file\n", id="unparsable"),
        pytest.param("/session nosuch", f"h\tFALSE\t/\tFALSE\t0\tsid\t{COOKIE}\n", id="unknown"),
        pytest.param("/session", f"h\tFALSE\t/\tFALSE\t0\tsid\t{COOKIE}\n", id="no-label"),
        pytest.param("/session a1", f"h\tFALSE\t/\tFALSE\t0\tsid\t{COOKIE}\n", id="stored"),
    ],
)
async def test_every_session_document_leaves_the_chat(
    chat: Chat, caption: str, contents: str
) -> None:
    await chat.send(ADMIN, None, caption="/import", document=csv_file(HEADER + "a1,demo,u1,,,\n"))
    document = (contents.encode(), "cookies.txt", "text/plain")
    before = len(chat.replies(ADMIN))
    sent = await chat.send(ADMIN, None, caption=caption, document=document)
    assert chat.deleted()[-1] == sent["message_id"]
    assert any("deleted your file" in text for text in chat.replies(ADMIN)[before:])
    assert COOKIE not in chat.everything_sent()


async def test_a_group_hears_nothing_unless_it_is_allowed(chat: Chat) -> None:
    for user in (ADMIN, MEMBER):
        await chat.send(GROUP, "/accounts", user_id=user, chat_type="supergroup")
        await chat.send(GROUP, "/help", user_id=user, chat_type="group")
    assert chat.replies(GROUP) == []  # not even a refusal: every member would read it
    await chat.send(ALLOWED_GROUP, "/accounts", user_id=MEMBER, chat_type="supergroup")
    assert chat.replies(ALLOWED_GROUP) == []
    await chat.send(ALLOWED_GROUP, "/accounts", user_id=ADMIN, chat_type="supergroup")
    assert len(chat.replies(ALLOWED_GROUP)) == 1
    await chat.send(ADMIN, "/accounts")
    assert len(chat.replies(ADMIN)) == 1


async def ask(chat: Chat, chat_id: int) -> tuple[asyncio.Task[str | None], int]:
    """Ask a question as a runner does and send its prompt as the outbox does; return both."""
    if not await Account.exists(label="demo1"):
        await chat.accounts.import_rows([AccountRow("demo1", "demo", "demo1", "pw")])
    run = await chat.runs.create_warmup(
        "demo1", duration_s=0, requester=Requester(Trigger.MANUAL, chat_id=chat_id)
    )
    item = await RunItem.get(run_id=run.id)
    question = Question(run.id, item.id, "demo1", "the code")
    chat.asked.clear()
    answer = asyncio.create_task(chat.operator.ask(question))
    await asyncio.wait_for(chat.asked.wait(), 30)  # the row is written
    prompt = await chat.bot.send_message(chat_id, "Account demo1 (run #1) asks: the code")
    await AskedQuestion.filter(item_id=item.id).update(message_id=prompt.message_id)
    return answer, prompt.message_id


async def still_open() -> bool:
    return await AskedQuestion.filter(status=QuestionStatus.OPEN).exists()


async def test_a_code_is_taken_only_from_an_admin_replying_to_its_prompt(chat: Chat) -> None:
    answer, prompt = await ask(chat, ADMIN)
    await chat.send(ADMIN, "123456")  # not a reply: could be meant for anything
    assert await still_open()
    assert "reply to its message" in chat.replies(ADMIN)[-1]
    other = await chat.bot.send_message(ADMIN, "a run summary")
    await chat.send(ADMIN, "123456", reply_to=other.message_id)
    assert await still_open()
    await chat.send(ADMIN, " 654321 ", reply_to=prompt)
    assert await asyncio.wait_for(answer, 30) == "654321"

    answer, prompt = await ask(chat, ALLOWED_GROUP)
    for user in (MEMBER, ADMIN):
        await chat.send(
            ALLOWED_GROUP, f"{user}", user_id=user, reply_to=prompt, chat_type="supergroup"
        )
    assert await asyncio.wait_for(answer, 30) == str(ADMIN)  # the member's never an answer


async def test_a_reply_to_a_question_nobody_waits_for_is_told_so(chat: Chat) -> None:
    answer, prompt = await ask(chat, ADMIN)
    answer.cancel()  # the runner's timeout: the question expires
    with pytest.raises(asyncio.CancelledError):
        await answer
    await chat.send(ADMIN, "654321", reply_to=prompt)
    assert "Nobody is waiting for an answer" in chat.replies(ADMIN)[-1]
    [row] = await AskedQuestion.all()
    assert (row.status, row.answer_enc) == (QuestionStatus.EXPIRED, None)

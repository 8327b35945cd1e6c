"""Progress edits against the fake Bot API: one flood gate with the outbox, no query per edit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from tortoise import connections

from automation.accounts import AccountRow, AccountService
from automation.notifications import enqueue
from automation.reporting import ItemEvent
from automation.runs import Requester, RunService
from bot.config import Settings
from bot.floodgate import ChatGate
from bot.launcher import Launcher
from bot.outbox import Outbox
from bot.progress import TelegramReporter, attach_progress
from storage.db import Database
from storage.models import ItemStatus, Run, RunItem
from tests.fake_telegram import Call, FakeBotAPI

ADMIN = 5005
TOKEN = "123456:progress-edits"


@dataclass
class Chat:
    api: FakeBotAPI
    runs: RunService
    gate: ChatGate
    outbox: Outbox
    reporter: TelegramReporter
    bot: Bot

    async def run_with_message(self, selector: str) -> Run:
        """A run whose progress message is shown in the admin's chat."""
        run = await self.runs.create_warmup(
            selector, duration_s=1, requester=Requester(chat_id=ADMIN)
        )
        message = await self.bot.send_message(ADMIN, f"run #{run.id}")
        await attach_progress(run.id, ADMIN, message.message_id, "en")
        return run

    async def settle_some(self, run: Run, count: int) -> ItemEvent:
        """Mark ``count`` more of the run's items succeeded, as the runner would."""
        pending = await RunItem.filter(run_id=run.id, status=ItemStatus.PENDING).limit(count)
        await RunItem.filter(id__in=[i.id for i in pending]).update(status=ItemStatus.SUCCEEDED)
        return ItemEvent(run.id, pending[-1].id, "acct", "succeeded", 1)

    async def edit_reaching(self, run: Run, settled: int, total: int) -> Call:
        def shows(call: Call) -> bool:
            text = str(call.params.get("text", ""))
            return call.method == "editMessageText" and f"{settled}/{total}\n" in text

        return await self.api.wait_for(shows, within=30)


@pytest.fixture
async def chat(db: Database, settings: Settings) -> AsyncIterator[Chat]:
    rows = [
        AccountRow(f"acct{k}", "demo", f"u{k}", tags=("ten",) if k <= 10 else ())
        for k in range(1, 501)
    ]
    await AccountService(db.secrets).import_rows(rows)
    runs = RunService(settings.storage.data_dir)
    gate = ChatGate()
    async with FakeBotAPI(token=TOKEN) as api:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url)))
        outbox = Outbox(bot, runs, gate, default_language="en", send_screenshots=False)
        reporter = TelegramReporter(bot, gate, outbox, edit_every_s=0.0)
        try:
            yield Chat(api, runs, gate, outbox, reporter, bot)
        finally:
            await reporter.close()
            await bot.session.close()


async def test_an_edit_costs_no_query_however_many_items_the_run_has(
    chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tortoise.db_client")
    runner_queries, edit_queries = {}, {}
    for selector, total in (("#ten", 10), ("all", 500)):
        run = await chat.run_with_message(selector)
        event = await chat.settle_some(run, 1)
        await chat.reporter.item_event(event, await chat.runs.progress(run))
        await chat.edit_reaching(run, 1, total)  # the first event finds the message: 1 query
        event = await chat.settle_some(run, 3)
        caplog.clear()
        progress = await chat.runs.progress(run)  # what the runner does per event
        runner_queries[total] = len(caplog.records)
        caplog.clear()
        await chat.reporter.item_event(event, progress)
        await chat.edit_reaching(run, 4, total)
        edit_queries[total] = len(caplog.records)
    assert runner_queries == {10: 1, 500: 1}
    assert edit_queries == {10: 0, 500: 0}


async def test_the_outbox_sends_nothing_while_an_edit_to_the_chat_is_in_flight(
    chat: Chat,
) -> None:
    run = await chat.run_with_message("#ten")
    await enqueue(ADMIN, "note", "owed while the edit is out")
    chat.api.hold("editMessageText")
    event = await chat.settle_some(run, 1)
    await chat.reporter.item_event(event, await chat.runs.progress(run))
    edit = await chat.api.wait_for(lambda c: c.method == "editMessageText")
    # The edit's request is out, unanswered; a whole outbox pass must leave the chat alone.
    await chat.outbox.send_due()
    assert not [c for c in chat.api.calls if c.method == "sendMessage" and c.at > edit.at]
    chat.api.retry_after(1, method="editMessageText", times=1)
    answered = time.monotonic()
    chat.api.release("editMessageText")  # answered with 429 retry_after=1
    sender = asyncio.create_task(chat.outbox.run())
    try:
        sent = await chat.api.wait_for(
            lambda c: c.method == "sendMessage" and c.at > edit.at and c.status == 200
        )
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    assert sent.at >= answered + 1, "the outbox sent inside the edit's retry_after window"


async def test_an_outbox_stopped_mid_delivery_sends_that_message_once(chat: Chat) -> None:
    """serve's shutdown stops the outbox, then flushes what is left: a message Telegram
    already has, stopped before its row was marked sent, must not be sent again."""
    await enqueue(ADMIN, "note", "owed once", dedupe_key="note:stop")
    chat.api.hold("sendMessage")
    sender = asyncio.create_task(chat.outbox.run())
    await chat.api.wait_for(lambda call: call.method == "sendMessage", within=30)
    chat.outbox.stop()  # as shutdown does, with the send in flight
    chat.api.release("sendMessage")
    async with asyncio.timeout(30):
        await sender
    assert await chat.outbox.flush(5) == 0
    assert [message["text"] for message in chat.api.sent(ADMIN)] == ["owed once"]


async def test_a_run_that_ends_while_an_edit_is_in_flight_still_gets_its_final_bar(
    chat: Chat,
) -> None:
    run = await chat.run_with_message("#ten")
    chat.api.hold("editMessageText")
    event = await chat.settle_some(run, 1)
    await chat.reporter.item_event(event, await chat.runs.progress(run))
    await chat.api.wait_for(lambda call: call.method == "editMessageText")  # 1/10, unanswered
    await chat.settle_some(run, 9)
    await chat.reporter.finished(await chat.runs.progress(run))
    chat.api.release("editMessageText")
    await chat.edit_reaching(run, 10, 10)


async def test_a_final_bar_refused_with_retry_after_is_shown_after_the_window(
    chat: Chat,
) -> None:
    run = await chat.run_with_message("#ten")
    await chat.settle_some(run, 10)
    chat.api.retry_after(1, method="editMessageText", times=1)
    await chat.reporter.finished(await chat.runs.progress(run))
    refused = await chat.api.wait_for(lambda call: call.status == 429)
    shown = await chat.api.wait_for(
        lambda call: call.status == 200 and "10/10\n" in str(call.params.get("text"))
    )
    assert shown.method == "editMessageText" and shown.at >= refused.at + 1


async def test_a_run_over_before_its_message_is_attached_still_gets_its_final_bar(
    chat: Chat,
) -> None:
    run = await chat.runs.create_warmup("#ten", duration_s=1, requester=Requester(chat_id=ADMIN))
    launcher = Launcher(chat.bot, chat.runs, lambda: None, chat.reporter.attached)
    chat.api.hold("sendMessage")
    launching = asyncio.create_task(launcher.launch(run, ADMIN, "en"))
    await chat.api.wait_for(lambda call: call.method == "sendMessage")  # 0/10, unanswered
    await chat.settle_some(run, 10)  # the run ends before its message is attached
    summary = await chat.runs.settle(run.id)
    assert summary is not None
    await chat.reporter.finished(summary.progress)  # the runner's call finds no message
    chat.api.release("sendMessage")
    await launching
    await chat.edit_reaching(run, 10, 10)


async def test_an_outbox_that_cannot_use_the_database_says_so_once_per_outage(
    chat: Chat,
) -> None:
    said: list[logging.LogRecord] = []
    three_passes, back = asyncio.Event(), asyncio.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record)
            if "cannot use the database" in record.getMessage():
                chat.outbox.wake()  # the next pass now, not after the poll period
                if len(said) == 3:
                    three_passes.set()
            elif "again" in record.getMessage():
                back.set()

    logger = logging.getLogger("bot.outbox")
    watch, level = Watch(level=logging.DEBUG), logger.level
    logger.addHandler(watch)
    logger.setLevel(logging.DEBUG)
    sqlite = connections.get("sqlite")
    await sqlite.execute_script("ALTER TABLE notification RENAME TO notification_away")
    sender = asyncio.create_task(chat.outbox.run())
    try:
        async with asyncio.timeout(30):
            await three_passes.wait()
        await sqlite.execute_script("ALTER TABLE notification_away RENAME TO notification")
        async with asyncio.timeout(30):
            await back.wait()
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        logger.removeHandler(watch)
        logger.setLevel(level)
    levels = [record.levelname for record in said]
    assert levels[:3] == ["WARNING", "DEBUG", "DEBUG"]
    assert levels[-1] == "INFO" and "can use the database again" in said[-1].getMessage()

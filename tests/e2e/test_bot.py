"""An operator's day through Telegram: the real ``fleetbot serve`` against fakes at the edge."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
from typing import Any

from automation.sites.demo.samples import write_sample_videos
from tests.e2e.conftest import ADMIN, STRANGER, TOKEN, Fleet, eventually
from tests.helpers import chromium_under
from tests.integration.conftest import posts_of

SUMMARY = re.compile(r"Run #(\d+) \((\w+)\) (\w+): (\d+) of (\d+) succeeded")


def texts_to(fleet: Fleet, chat_id: int) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in fleet.api.sent(chat_id)]


def summaries(fleet: Fleet, chat_id: int = ADMIN) -> list[re.Match[str]]:
    return [m for text in texts_to(fleet, chat_id) if (m := SUMMARY.search(text))]


async def wait_summary(fleet: Fleet, run_id: int, within: float = 120) -> dict[str, Any]:
    return await fleet.api.wait_for_message(
        ADMIN,
        contains=f"Run #{run_id} (",
        within=within,
        where=lambda m: bool(SUMMARY.search(m.get("text") or "")),
    )


async def test_warmup_from_the_chat_reports_progress_and_one_summary(fleet: Fleet) -> None:
    await fleet.add_accounts(5)
    await fleet.serve()
    fleet.api.inject_message(ADMIN, "/warmup all")
    summary = await wait_summary(fleet, 1)
    assert "5 of 5 succeeded" in summary["text"]
    progress = fleet.api.sent(ADMIN)[0]
    assert progress["text"].startswith("Run #1 (warmup)")
    edits = [c for c in fleet.api.calls if c.method == "editMessageText"]
    assert edits, "the progress message was never edited"
    assert all(int(c.params["message_id"]) == progress["message_id"] for c in edits)

    # The final bar is edited after the summary (it yields the chat's turn to it): wait.
    async def final_bar() -> bool:
        return "5/5" in fleet.api.message(ADMIN, progress["message_id"])["text"]

    try:
        await eventually(final_bar, within=30)
    except AssertionError:  # say what the chat saw: this failed under load before
        edits = [
            (c.at, c.status, c.params.get("text"))
            for c in fleet.api.calls
            if c.method == "editMessageText"
        ]
        lines = [line for line in fleet.log_text().splitlines() if "progress" in line.lower()]
        raise AssertionError(f"no final bar; edits {edits}; log {lines[-20:]}") from None
    shown = await fleet.run_json(1)
    assert (shown["status"], shown["total"], shown["succeeded"]) == ("succeeded", 5, 5)
    assert len(summaries(fleet)) == 1
    commands = [c for c in fleet.api.calls if c.method == "setMyCommands"]
    assert commands, "the command menu was not registered"


async def test_strangers_get_one_refusal_and_nothing_else(fleet: Fleet) -> None:
    await fleet.add_accounts(3)
    await fleet.serve()
    fleet.api.inject_message(STRANGER, "/warmup all")
    fleet.api.inject_message(STRANGER, "/accounts")
    fleet.api.inject_callback(STRANGER, STRANGER, 1, "run:retry:1")
    fleet.api.inject_message(STRANGER, "/status")
    # An admin command after the stranger's proves the stranger's updates were processed.
    fleet.api.inject_message(ADMIN, "/runs")
    await fleet.api.wait_for_message(ADMIN, contains="No runs yet")
    to_stranger = texts_to(fleet, STRANGER)
    assert to_stranger == ["This bot is private."]
    answers = [c for c in fleet.api.calls if c.method == "answerCallbackQuery"]
    assert len(answers) == 1 and not answers[0].params.get("text")
    code, out, err = await fleet.cli("runs", "list", "--json")
    assert code == 0, err
    assert json.loads(out) == {"runs": []}
    assert "STRANGER" not in fleet.log_text() and "refused" in fleet.log_text()


async def test_upload_by_video_caption_posts_once_per_account(fleet: Fleet, tmp_path) -> None:
    await fleet.add_accounts(3)
    video = write_sample_videos(tmp_path / "videos", 1)[0]
    await fleet.serve()
    fleet.api.inject_message(
        ADMIN, None, caption="/upload all", video=(video.read_bytes(), "clip.mp4", "video/mp4")
    )
    summary = await wait_summary(fleet, 1)
    assert "3 of 3 succeeded" in summary["text"]
    for k in (1, 2, 3):
        posts = await posts_of(fleet.site_url, f"demo{k}")
        assert len(posts) == 1
        assert posts[0]["url"].split("/")[-1] in summary["text"]


async def test_retry_after_storm_delays_but_never_loses_the_summary(fleet: Fleet) -> None:
    await fleet.add_accounts(3)
    await fleet.serve()
    fleet.api.inject_message(ADMIN, "/warmup all")
    await fleet.api.wait_for_message(ADMIN, contains="Run #1 (warmup)")
    storm_ends = time.monotonic() + 10
    fleet.api.retry_after(2, method="sendMessage", until=storm_ends)
    summary = await wait_summary(fleet, 1, within=60)
    assert summary["at"] >= storm_ends
    assert len(summaries(fleet)) == 1
    refusals = [c for c in fleet.api.calls if c.status == 429]
    assert refusals
    for refused in refusals:
        window = (refused.at, refused.at + 2)
        inside = [
            c
            for c in fleet.api.calls
            if c.chat_id == ADMIN and window[0] < c.at < window[1] and c is not refused
        ]
        assert not inside, f"{[c.method for c in inside]} sent during a retry_after window"


async def test_summary_left_unsent_by_a_kill_arrives_once_after_restart(fleet: Fleet) -> None:
    await fleet.add_accounts(2)
    serve = await fleet.serve()
    fleet.api.inject_message(ADMIN, "/warmup all 4s")  # long enough to go down before the end
    await fleet.api.wait_for_message(ADMIN, contains="Run #1 (warmup)")
    await fleet.api.go_down()

    async def run_done() -> bool:
        return (await fleet.run_json(1))["status"] == "succeeded"

    await eventually(run_done)
    serve.send_signal(signal.SIGKILL)
    await serve.wait()
    await fleet.api.come_back()
    assert summaries(fleet) == []
    await fleet.serve()
    summary = await wait_summary(fleet, 1)
    assert "2 of 2 succeeded" in summary["text"]
    fleet.api.inject_message(ADMIN, "/runs")  # a later reply proves the outbox moved on
    await fleet.api.wait_for_message(ADMIN, contains="Recent runs")
    assert len(summaries(fleet)) == 1


async def test_sigterm_mid_run_exits_cleanly_and_a_restart_finishes(fleet: Fleet) -> None:
    await fleet.add_accounts(4)
    serve = await fleet.serve()
    fleet.api.inject_message(ADMIN, "/warmup all 20s")
    await fleet.api.wait_for_message(ADMIN, contains="(warmup) running", within=60)
    browsers = chromium_under(serve.pid)
    started = time.monotonic()
    serve.send_signal(signal.SIGTERM)
    async with asyncio.timeout(2 + 15):
        code = await serve.wait()
    assert code == 0, fleet.log_text()[-3000:]
    assert time.monotonic() - started < 2 + 15
    assert not [p for p in browsers if p.is_running() and p.status() != "zombie"]
    shown = await fleet.run_json(1)
    assert shown["status"] == "running" and shown["pending"] > 0
    await fleet.serve()
    summary = await wait_summary(fleet, 1, within=180)
    assert "4 of 4 succeeded" in summary["text"]
    assert TOKEN.split(":")[1] not in fleet.log_text()

"""Human in the loop: a site's verification code asked and answered in the chat."""

from __future__ import annotations

import asyncio
import json
import signal

import aiohttp
import pytest

from automation.sites.demo.state import DemoSiteOptions
from tests.e2e.conftest import ADMIN, Fleet
from tests.e2e.test_bot import wait_summary
from tests.helpers import FLEETBOT, chromium_under


@pytest.fixture
def site_options() -> DemoSiteOptions:
    return DemoSiteOptions(users=8, processing_s=0.3, seed=11, verify_users=frozenset({"demo2"}))


async def test_verification_code_is_asked_in_the_chat(fleet: Fleet) -> None:
    await fleet.add_accounts(2)
    await fleet.serve()
    fleet.api.inject_message(ADMIN, "/warmup demo2")
    question = await fleet.api.wait_for_message(ADMIN, contains="demo2 (run #1) asks")
    code = await last_code(fleet, "demo2")
    fleet.api.inject_message(ADMIN, code, reply_to=question["message_id"])
    summary = await wait_summary(fleet, 1)
    assert "1 of 1 succeeded" in summary["text"]


async def last_code(fleet: Fleet, user: str) -> str:
    """The one-time code the demo site last sent to ``user``."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{fleet.site_url}/api/last-code", params={"user": user}) as response,
    ):
        return str((await response.json())["code"])


async def test_a_workers_question_is_answered_in_the_chat(fleet: Fleet) -> None:
    """The runner that asks is another process: the question and its answer go through
    the database, and the page travels in it (a worker elsewhere shares no disk)."""
    fleet.env["FLEETBOT_AUTOMATION__RUN_IN_SERVE"] = "false"
    await fleet.add_accounts(2)
    serve = await fleet.serve()
    log = fleet.data_dir.parent / "worker.log"
    fleet.logs.append(log)
    handle = await asyncio.to_thread(log.open, "wb")
    try:
        worker = await asyncio.create_subprocess_exec(
            *FLEETBOT, "worker", stdout=handle, stderr=handle, env=fleet.env
        )
    finally:
        handle.close()
    fleet.procs.append(worker)

    fleet.api.inject_message(ADMIN, "/warmup demo2")
    question = await fleet.api.wait_for_message(ADMIN, contains="demo2 (run #1) asks", within=120)
    assert question.get("photo"), "the question comes with the page"
    [upload] = [call for call in fleet.api.calls if call.method == "sendPhoto"]
    [photo] = upload.files.values()
    assert photo.startswith(b"\x89PNG")
    code = await last_code(fleet, "demo2")
    fleet.api.inject_message(ADMIN, code, reply_to=question["message_id"])
    await fleet.api.wait_for_message(ADMIN, contains="Thanks, sent to demo2")
    summary = await wait_summary(fleet, 1)  # the worker typed the code and went on
    assert "1 of 1 succeeded" in summary["text"]
    assert chromium_under(serve.pid) == []  # serve never drove the page
    assert not any((fleet.data_dir / "questions").glob("*"))  # no screenshot on disk

    worker.send_signal(signal.SIGTERM)
    assert await worker.wait() == 0
    assert code not in fleet.log_text()  # nor the code in any log, at DEBUG


async def test_unanswered_code_fails_the_item_as_needs_attention(fleet: Fleet) -> None:
    fleet.env["FLEETBOT_AUTOMATION__VERIFICATION_TIMEOUT_S"] = "2"
    await fleet.add_accounts(2)
    await fleet.serve()
    fleet.api.inject_message(ADMIN, "/warmup demo2")
    await fleet.api.wait_for_message(ADMIN, contains="demo2 (run #1) asks")
    summary = await wait_summary(fleet, 1)
    assert "0 of 1 succeeded" in summary["text"]
    assert "VerificationRequired (1): demo2" in summary["text"]
    code, out, err = await fleet.cli("accounts", "list", "--json")
    assert code == 0, err
    health = {a["label"]: a["health"] for a in json.loads(out)["accounts"]}
    assert health["demo2"] == "needs_attention"

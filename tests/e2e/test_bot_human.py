"""Human in the loop: a site's verification code asked and answered in the chat."""

from __future__ import annotations

import json

import aiohttp
import pytest

from automation.sites.demo.state import DemoSiteOptions
from tests.e2e.conftest import ADMIN, Fleet
from tests.e2e.test_bot import wait_summary


@pytest.fixture
def site_options() -> DemoSiteOptions:
    return DemoSiteOptions(users=8, processing_s=0.3, seed=11, verify_users=frozenset({"demo2"}))


async def test_verification_code_is_asked_in_the_chat(fleet: Fleet) -> None:
    await fleet.add_accounts(2)
    await fleet.serve()
    fleet.api.inject_message(ADMIN, "/warmup demo2")
    question = await fleet.api.wait_for_message(ADMIN, contains="demo2 (run #1) asks")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{fleet.site_url}/api/last-code", params={"user": "demo2"}) as response,
    ):
        code = (await response.json())["code"]
    fleet.api.inject_message(ADMIN, code, reply_to=question["message_id"])
    summary = await wait_summary(fleet, 1)
    assert "1 of 1 succeeded" in summary["text"]


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

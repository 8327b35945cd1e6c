"""A run with a failure: grouped in the summary, screenshot sent, buttons retry and explain."""

from __future__ import annotations

import json

from tests.e2e.conftest import ADMIN, Fleet
from tests.e2e.test_bot import wait_summary


async def test_failed_items_are_grouped_shown_and_retried(fleet: Fleet) -> None:
    await fleet.add_accounts(3)
    code, _, err = await fleet.cli(
        "accounts",
        "add",
        "broken",
        "--site",
        "demo",
        "--username",
        "demo3",
        "--password-stdin",
        stdin=b"wrong-password\n",
    )
    assert code == 0, err
    await fleet.serve()
    fleet.api.inject_message(ADMIN, "/warmup all")
    summary = await wait_summary(fleet, 1)
    assert "3 of 4 succeeded, 1 failed" in summary["text"]
    assert "LoginRequired (1): broken" in summary["text"]
    buttons = [b["callback_data"] for b in summary["reply_markup"]["inline_keyboard"][0]]
    assert buttons == ["run:retry:1", "run:show:1"]
    shot = await fleet.api.wait_for(lambda c: c.method == "sendPhoto")
    assert shot.params.get("caption") == "broken" and shot.files  # the page, as a PNG
    assert next(iter(shot.files.values())).startswith(b"\x89PNG")

    fleet.api.inject_callback(ADMIN, ADMIN, summary["message_id"], "run:show:1")
    details = await fleet.api.wait_for_message(ADMIN, contains="broken: failed")
    assert "LoginRequired" in details["text"]
    fleet.api.inject_callback(ADMIN, ADMIN, summary["message_id"], "run:retry:1")
    await fleet.api.wait_for_message(ADMIN, contains="as run #2")
    retried = await wait_summary(fleet, 2)
    assert "0 of 1 succeeded" in retried["text"]
    shown = await fleet.run_json(2)
    assert [item["account"] for item in shown["items"]] == ["broken"]

    fleet.api.inject_message(ADMIN, "/warmup demo1 30s")
    await fleet.api.wait_for_message(ADMIN, contains="Run #3 (warmup)")
    fleet.api.inject_message(ADMIN, "/cancel 3")
    await fleet.api.wait_for_message(ADMIN, contains="Run #3 is cancelled")
    cancelled = await wait_summary(fleet, 3)
    assert "(warmup) cancelled" in cancelled["text"]
    code, out, _ = await fleet.cli("accounts", "list", "--json")
    health = {a["label"]: a["health"] for a in json.loads(out)["accounts"]}
    assert health["broken"] == "needs_login"


async def test_a_video_over_the_download_limit_is_explained(fleet: Fleet) -> None:
    await fleet.add_accounts(1)
    await fleet.serve()
    big = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (21 * 2**20)
    fleet.api.inject_message(
        ADMIN, None, caption="/upload all", video=(big, "big.mp4", "video/mp4")
    )
    reply = await fleet.api.wait_for_message(ADMIN, contains="downloads at most 20 MB")
    assert "bot.api_base" in reply["text"]
    assert not [c for c in fleet.api.calls if c.method == "getFile"]

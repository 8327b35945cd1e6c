"""``bot.mode = "webhook"``: the fake Bot API POSTs updates to serve's own HTTP server."""

from __future__ import annotations

import json
import signal
import socket
import time

import aiohttp

from tests.e2e.conftest import ADMIN, Fleet, eventually
from tests.e2e.test_bot import wait_summary

SECRET = "hook-secret_0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def warmup_update(update_id: int) -> dict[str, object]:
    """What Telegram would POST for an admin's /warmup (built by hand: a forged request)."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": 900 + update_id,
            "date": int(time.time()),
            "chat": {"id": ADMIN, "type": "private"},
            "from": {"id": ADMIN, "is_bot": False, "first_name": "Admin"},
            "text": "/warmup all",
            "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
        },
    }


async def test_webhook_takes_updates_with_the_secret_and_refuses_the_rest(fleet: Fleet) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    fleet.env |= {
        "FLEETBOT_BOT__MODE": "webhook",
        "FLEETBOT_BOT__WEBHOOK_URL": url,
        "FLEETBOT_BOT__WEBHOOK_SECRET": SECRET,
        "FLEETBOT_BOT__WEBHOOK_LISTEN": f"127.0.0.1:{port}",
    }
    await fleet.add_accounts(3)
    serve = await fleet.serve()
    assert (fleet.api.webhook_url, fleet.api.webhook_secret) == (url, SECRET)
    assert not any(c.method == "getUpdates" for c in fleet.api.calls)

    async with aiohttp.ClientSession() as http:
        for update_id, headers in (
            (1, {}),
            (2, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}),
            (3, {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]}),
        ):
            async with http.post(url, json=warmup_update(update_id), headers=headers) as resp:
                assert resp.status == 401
    code, out, err = await fleet.cli("runs", "list", "--json")
    assert code == 0, err
    assert json.loads(out) == {"runs": []}  # nothing forged was handled
    assert fleet.api.sent(ADMIN) == []

    fleet.api.inject_message(ADMIN, "/warmup all")  # delivered by the fake with the secret
    summary = await wait_summary(fleet, 1)
    assert "3 of 3 succeeded" in summary["text"]
    assert 200 in fleet.api.webhook_answers
    log = fleet.log_text()
    assert log.count("refused a request without the right secret token") == 1
    assert SECRET not in log

    # Back to polling: the webhook is removed at start and updates come by getUpdates again.
    serve.send_signal(signal.SIGTERM)
    assert await serve.wait() == 0
    fleet.env["FLEETBOT_BOT__MODE"] = "polling"
    await fleet.serve()
    assert fleet.api.webhook_url is None
    fleet.api.inject_message(ADMIN, "/status")

    async def status_answered() -> bool:
        return any("fleetbot" in (m.get("text") or "") for m in fleet.api.sent(ADMIN)[-2:])

    await eventually(status_answered, within=60)

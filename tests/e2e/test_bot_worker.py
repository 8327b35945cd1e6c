"""serve without browsers (``automation.run_in_serve = false``) and a ``fleetbot worker``."""

from __future__ import annotations

import asyncio
import signal

from tests.e2e.conftest import ADMIN, Fleet, eventually
from tests.e2e.test_bot import wait_summary
from tests.helpers import FLEETBOT, chromium_under


async def test_a_worker_drives_a_chat_run_and_serve_reports_it(fleet: Fleet) -> None:
    fleet.env["FLEETBOT_AUTOMATION__RUN_IN_SERVE"] = "false"
    await fleet.add_accounts(3)
    serve = await fleet.serve()
    worker = await asyncio.create_subprocess_exec(
        *FLEETBOT,
        "worker",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=fleet.env,
    )
    fleet.procs.append(worker)

    fleet.api.inject_message(ADMIN, "/warmup all")
    summary = await wait_summary(fleet, 1)  # written by the worker, sent by serve
    assert "3 of 3 succeeded" in summary["text"]
    assert chromium_under(serve.pid) == []  # serve itself never launched a browser
    # serve drives none of the items, yet the run's progress message reaches the final bar.
    progress = fleet.api.sent(ADMIN)[0]
    assert progress["text"].startswith("Run #1 (warmup)")

    async def final_bar() -> bool:
        return "3/3" in fleet.api.message(ADMIN, progress["message_id"])["text"]

    await eventually(final_bar, within=60)

    fleet.api.inject_message(ADMIN, "/status")

    async def worker_listed() -> bool:
        return any(f"runner {worker.pid}@" in (m.get("text") or "") for m in fleet.api.sent(ADMIN))

    await eventually(worker_listed, within=60)
    worker.send_signal(signal.SIGTERM)
    assert await worker.wait() == 0

"""The Bot API unreachable (connection refused) for 30 s while runs finish, then back.

Three runs finish while Telegram cannot be reached; their summaries wait in the outbox.
When it comes back every summary is delivered exactly once, and the bot answers commands
again. The 30 s outage is the fault itself, so it is waited out on the clock.
"""

from __future__ import annotations

import asyncio
import time

from tests.chaos.observe import report, settled
from tests.e2e.conftest import ADMIN, Fleet, eventually
from tests.e2e.test_bot import summaries, wait_summary

OUTAGE_S = 30
RUNS = 3


async def test_thirty_seconds_down_loses_and_repeats_nothing(fleet: Fleet) -> None:
    await fleet.add_accounts(RUNS)
    await fleet.serve()
    for k in range(1, RUNS + 1):
        fleet.api.inject_message(ADMIN, f"/warmup demo{k} 3s")
        await fleet.api.wait_for_message(ADMIN, contains=f"Run #{k} (warmup)")
    await fleet.api.go_down()
    down_at = time.monotonic()

    async def runs_done() -> bool:
        counts = [await settled(fleet.data_dir, k) for k in range(1, RUNS + 1)]
        return counts == [1] * RUNS

    await eventually(runs_done, within=OUTAGE_S)
    assert summaries(fleet) == []
    await asyncio.sleep(max(0.0, down_at + OUTAGE_S - time.monotonic()))  # the outage
    await fleet.api.come_back()
    back_at = time.monotonic()
    delivered = [await wait_summary(fleet, k, within=90) for k in range(1, RUNS + 1)]
    recovery_s = max(message["at"] for message in delivered) - back_at
    fleet.api.inject_message(ADMIN, "/runs")  # a later reply proves the outbox moved on
    await fleet.api.wait_for_message(ADMIN, contains="Recent runs")
    found = sorted(int(match.group(1)) for match in summaries(fleet))
    assert found == list(range(1, RUNS + 1)), found
    report(
        "telegram-down",
        outage_s=OUTAGE_S,
        notifications_owed=RUNS,
        delivered=len(found),
        lost=RUNS - len(set(found)),
        duplicates=len(found) - len(set(found)),
        recovery_s=round(recovery_s, 1),
    )

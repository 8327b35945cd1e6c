"""Schedules from the chat: created with their next fires, fired by the real serve process."""

from __future__ import annotations

import json

from tests.e2e.conftest import ADMIN, Fleet
from tests.e2e.test_bot import SUMMARY


async def test_schedule_from_chat_fires_and_reports(fleet: Fleet) -> None:
    await fleet.add_accounts(2)
    await fleet.serve()
    fleet.api.inject_message(ADMIN, '/schedule warmup "every 3 seconds" all duration=0')
    added = await fleet.api.wait_for_message(ADMIN, contains="Scheduled: #1 warmup")
    fires = added["text"].split("next: ")[1].split(", ")
    assert len(fires) == 3 and len(set(fires)) == 3  # three distinct fire times are shown
    summary = await fleet.api.wait_for_message(
        ADMIN, contains="(warmup) succeeded", where=lambda m: bool(SUMMARY.search(m["text"]))
    )
    assert "2 of 2 succeeded" in summary["text"]
    fleet.api.inject_message(ADMIN, "/pause 1")
    await fleet.api.wait_for_message(ADMIN, contains="(paused)")
    code, out, err = await fleet.cli("runs", "list", "--json")
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert runs and {r["trigger"] for r in runs} == {"schedule"}
    fleet.api.inject_message(ADMIN, '/schedule warmup "daily 25:00"')
    await fleet.api.wait_for_message(ADMIN, contains="the time must be HH:MM")
    fleet.api.inject_message(ADMIN, '/schedule warmup "0 9 * * mon;fri"')
    await fleet.api.wait_for_message(ADMIN, contains="day of week 'mon;fri' is not crontab")
    fleet.api.inject_message(ADMIN, "/schedule warmup")
    await fleet.api.wait_for_message(ADMIN, contains="Usage: /schedule KIND WHEN")
    code, out, err = await fleet.cli("schedules", "list", "--json")
    assert code == 0, err
    [schedule] = json.loads(out)["schedules"]
    assert (schedule["id"], schedule["enabled"], schedule["chat_id"]) == (1, False, ADMIN)


async def test_a_second_serve_on_the_same_database_refuses(fleet: Fleet) -> None:
    first = await fleet.serve()
    code, _, err = await fleet.cli("serve")
    assert code == 1
    assert "another fleetbot scheduler uses this database" in err
    assert f"pid {first.pid}" in err
    assert first.returncode is None  # the first one is untouched

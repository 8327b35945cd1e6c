"""SIGKILL ``fleetbot serve`` five times during one 20-account upload, restarting each time.

The kill points are drawn from a seeded generator (a number of settled items, then a delay
of up to a second, so kills land mid-upload as well as between items). After every kill the
database is compared with what it held before: an outcome once committed never changes,
and at the end every item has exactly one final state and the demo site holds exactly one
post per account.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from urllib.parse import urlsplit

import pytest

from automation.sites.demo.samples import write_sample_videos
from automation.sites.demo.state import DemoSiteOptions
from tests.chaos.observe import FINAL, items, report, settled
from tests.e2e.conftest import ADMIN, Fleet, eventually
from tests.e2e.test_bot import summaries, wait_summary
from tests.helpers import kill_tree
from tests.integration.conftest import posts_of

ACCOUNTS = 20
KILLS = 5
SEED = 20261122


@pytest.fixture
def site_options() -> DemoSiteOptions:
    return DemoSiteOptions(users=ACCOUNTS, processing_s=0.3, seed=5)


async def test_five_kills_lose_nothing_and_post_nothing_twice(fleet: Fleet, tmp_path) -> None:
    rng = random.Random(SEED)
    points = sorted(rng.sample(range(1, ACCOUNTS - 1), KILLS))
    fleet.env["FLEETBOT_AUTOMATION__CONCURRENCY"] = "4"
    # A kill can land on the same item more than once; its attempts must not run out.
    fleet.env["FLEETBOT_AUTOMATION__MAX_ATTEMPTS"] = str(KILLS + 3)
    await fleet.add_accounts(ACCOUNTS)
    [video] = await asyncio.to_thread(write_sample_videos, tmp_path / "videos", 1)
    serve = await fleet.serve()
    fleet.api.inject_message(
        ADMIN, None, caption="/upload all", video=(video.read_bytes(), "clip.mp4", "video/mp4")
    )
    await fleet.api.wait_for_message(ADMIN, contains="Run #1 (upload)", within=60)

    committed: dict[int, dict[str, object]] = {}
    interrupted = 0
    restarts: list[float] = []
    for point in points:

        async def reached(point: int = point) -> bool:
            return await settled(fleet.data_dir, 1) >= point

        await eventually(reached, within=180)
        await asyncio.sleep(rng.uniform(0, 1))  # the kill's random moment, not a wait
        kill_tree(serve.pid)
        await serve.wait()
        at_kill = await items(fleet.data_dir, 1)
        interrupted += sum(1 for row in at_kill.values() if row["status"] == "running")
        for item_id, row in at_kill.items():
            if item_id in committed:
                assert row == committed[item_id], f"item {item_id} changed after a kill"
            elif row["status"] in FINAL:
                committed[item_id] = row
        started = time.monotonic()
        serve = await fleet.serve()
        restarts.append(round(time.monotonic() - started, 1))

    async def all_final() -> bool:
        return await settled(fleet.data_dir, 1) == ACCOUNTS

    await eventually(all_final, within=240)
    final = await items(fleet.data_dir, 1)
    assert len(final) == ACCOUNTS
    assert {row["status"] for row in final.values()} == {"succeeded"}
    for item_id, row in committed.items():
        assert final[item_id] == row, f"item {item_id} changed after it was committed"
    posts = {f"demo{k}": await posts_of(fleet.site_url, f"demo{k}") for k in range(1, 21)}
    duplicates = sum(len(p) - 1 for p in posts.values() if len(p) > 1)
    assert duplicates == 0, {user: len(p) for user, p in posts.items() if len(p) != 1}
    assert all(len(p) == 1 for p in posts.values())
    recorded = {urlsplit(json.loads(row["result"])["post_url"]).path for row in final.values()}
    assert recorded == {urlsplit(p[0]["url"]).path for p in posts.values()}
    summary = await wait_summary(fleet, 1)
    assert f"{ACCOUNTS} of {ACCOUNTS} succeeded" in summary["text"]
    assert len(summaries(fleet)) == 1
    report(
        "kill-serve",
        items=ACCOUNTS,
        kills=KILLS,
        kill_points=points,
        items_running_at_kills=interrupted,
        committed_before_kills=len(committed),
        changed_after_kill=0,
        lost=0,
        duplicates=duplicates,
        restart_s=restarts,
    )

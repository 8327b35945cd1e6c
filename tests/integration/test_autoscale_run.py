"""A run with ``concurrency = "auto"`` through the real runner, Chromium and demo site."""

from __future__ import annotations

from automation.leases import new_owner
from automation.presence import PublishedLevel, levels_for_run, publish_level
from automation.reporting import ItemEvent
from automation.runs import Requester
from automation.summary import RunProgress, RunSummary
from storage.models import RunStatus, Setting, Trigger
from tests.integration.conftest import Engine


class LevelWatcher:
    """A real Reporter that reads the published levels (as `fleetbot runs show` does)."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.levels: list[PublishedLevel] = []

    async def item_event(self, event: ItemEvent, progress: RunProgress) -> None:
        if event.status == "running":
            self.levels.extend(await levels_for_run(self.run_id))

    async def run_finished(self, summary: RunSummary) -> None:
        pass


async def test_auto_concurrency_run_completes_and_publishes_its_level(engine: Engine) -> None:
    # A level left behind by a runner that died (an earlier runner of this very process).
    await publish_level(PublishedLevel(new_owner(), 5, auto=True, max_level=8))
    await engine.add_demo_accounts(4)
    run = await engine.runs.create_warmup("all", duration_s=0, requester=Requester(Trigger.CLI))
    watcher = LevelWatcher(run.id)

    await engine.drive(run.id, reporter=watcher, concurrency="auto", max_concurrency=4)

    summary = await engine.runs.summary(run.id)
    assert summary.status == RunStatus.SUCCEEDED
    assert [i.status for i in summary.items] == ["succeeded"] * 4
    assert watcher.levels, "no level was published while items ran"
    assert {(level.auto, level.max_level) for level in watcher.levels} == {(True, 4)}
    assert all(1 <= level.level <= 4 for level in watcher.levels)
    assert len({level.owner for level in watcher.levels}) == 1  # only the live runner
    # The dead runner's level went at start, the live one's at stop.
    assert await Setting.filter(key__startswith="concurrency:").count() == 0

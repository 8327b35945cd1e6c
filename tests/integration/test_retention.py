"""Screenshots, traces and question screenshots expire, and leave with their account."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from automation.accounts import AccountRow, AccountService
from automation.retention import ArtifactPruner, question_screenshot
from storage.config import StorageConfig
from storage.db import Database
from storage.models import Account, AskedQuestion, ItemStatus, Run, RunItem, RunKind, Trigger
from tests.helpers import fleetbot

DAY = 86_400


def artifact(path: Path, age_days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG page of an account")
    then = time.time() - age_days * DAY
    os.utime(path, (then, then))
    return path


async def failed_item(label: str, data_dir: Path, age_days: float) -> tuple[RunItem, list[Path]]:
    """A failed item of account label, finished age_days ago, with its three artifacts."""
    account = await Account.get(label=label)
    run = await Run.create(kind=RunKind.WARMUP, trigger=Trigger.CLI)
    item = await RunItem.create(
        run=run,
        account=account,
        status=ItemStatus.FAILED,
        finished_at=datetime.now(UTC) - timedelta(days=age_days),
    )
    folder = data_dir / "artifacts" / f"run-{run.id}"
    files = [
        artifact(folder / f"item-{item.id}-attempt-1.png", age_days),
        artifact(folder / f"item-{item.id}-attempt-1.trace.zip", age_days),
        artifact(question_screenshot(data_dir / "questions", item.id), age_days),
    ]
    item.screenshot_path, item.trace_path = str(files[0]), str(files[1])
    await item.save(update_fields=["screenshot_path", "trace_path"])
    question = await AskedQuestion.create(
        item=item, run=run, chat_id=1, account=label, prompt="code?", screenshot_enc="sealed"
    )
    await AskedQuestion.filter(id=question.id).update(created_at=item.finished_at)
    return item, files


async def test_old_artifacts_are_pruned_by_serve_and_the_db_forgets_them(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with Database(StorageConfig(data_dir=data_dir)) as db:
        await AccountService(db.secrets).import_rows([AccountRow("a1", "demo", "u1")])
        old, old_files = await failed_item("a1", data_dir, age_days=15)
        new, new_files = await failed_item("a1", data_dir, age_days=1)
        outside = artifact(tmp_path / "not-an-artifact.png", age_days=30)
        old.trace_path = str(outside)  # a tampered database must not steer deletions
        await old.save(update_fields=["trace_path"])
        async with ArtifactPruner(data_dir, retention_days=14):
            for _ in range(600):  # the pruner's first pass runs at start
                if not any(p.exists() for p in old_files[::2]):
                    break
                await asyncio.sleep(0.05)
        assert [p.exists() for p in old_files] == [False, False, False]
        assert all(p.exists() for p in new_files)
        assert outside.exists()
        await old.refresh_from_db()
        await new.refresh_from_db()
        assert (old.screenshot_path, old.trace_path) == (None, None)
        assert new.screenshot_path == str(new_files[0])
        assert not old_files[0].parent.exists()  # the emptied run folder went too
        assert await AskedQuestion.filter(item_id=new.id).exists()
        assert not await AskedQuestion.filter(item_id=old.id).exists()


async def test_db_prune_command_and_removing_an_account_remove_artifacts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with Database(StorageConfig(data_dir=data_dir)) as db:
        await AccountService(db.secrets).import_rows(
            [AccountRow("a1", "demo", "u1"), AccountRow("a2", "demo", "u2")]
        )
        _, old_files = await failed_item("a2", data_dir, age_days=20)
        _, a1_files = await failed_item("a1", data_dir, age_days=1)
        _, a2_files = await failed_item("a2", data_dir, age_days=1)
    result = await asyncio.to_thread(fleetbot, "db", "prune", data_dir=data_dir)
    assert result.code == 0, result.stderr
    assert "deleted 3 artifact file(s) older than 14 days" in result.stdout
    assert not any(p.exists() for p in old_files)
    result = await asyncio.to_thread(fleetbot, "accounts", "remove", "a1", data_dir=data_dir)
    assert result.code == 0, result.stderr
    assert not any(p.exists() for p in a1_files)
    assert all(p.exists() for p in a2_files)

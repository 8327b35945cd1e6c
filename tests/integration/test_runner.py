"""The runner against the demo site with a real Chromium: outcomes, retries, failures."""

from __future__ import annotations

import asyncio
import json
import os
import zipfile
from pathlib import Path

import aiohttp
import pytest

from automation.artifacts import unseal
from automation.errors import SelectorError
from automation.reporting import Question
from automation.runs import Requester
from automation.sites.demo.samples import write_sample_videos
from automation.sites.demo.state import DemoSiteOptions
from storage.crypto import SecretBox
from storage.models import Account, Health, ItemStatus, RunItem, RunStatus, Trigger
from tests.helpers import RecordingReporter, chromium_under
from tests.integration.conftest import Engine, posts_of

CLI = Requester(Trigger.CLI)


async def test_warmup_succeeds_saves_sessions_and_reports(engine: Engine) -> None:
    await engine.add_demo_accounts(3)
    run = await engine.runs.create_warmup("all", duration_s=0.5, requester=CLI)
    reporter = RecordingReporter()
    await engine.drive(run.id, reporter=reporter)

    summary = await engine.runs.summary(run.id)
    assert summary.status == RunStatus.SUCCEEDED
    assert [(i.account, i.status, i.attempts) for i in summary.items] == [
        ("demo1", "succeeded", 1),
        ("demo2", "succeeded", 1),
        ("demo3", "succeeded", 1),
    ]
    assert {i.result["user"] for i in summary.items if i.result} == {"demo1", "demo2", "demo3"}
    for account in await Account.all():
        assert account.session_state_enc is not None
        assert "sid" not in account.session_state_enc  # stored encrypted
        assert account.last_warmup_at is not None
        assert account.lease_owner is None
    assert [s.run_id for s in reporter.finished] == [run.id]
    assert sorted(e.account for e in reporter.events if e.status == "succeeded") == [
        "demo1",
        "demo2",
        "demo3",
    ]

    # The saved session is reused: a second warmup needs no login form.
    again = await engine.runs.create_warmup("demo1", duration_s=0, requester=CLI)
    await engine.drive(again.id)
    assert (await engine.runs.summary(again.id)).status == RunStatus.SUCCEEDED


async def test_upload_posts_each_video_once_in_order(engine: Engine, tmp_path: Path) -> None:
    await engine.add_demo_accounts(2)
    paths = write_sample_videos(tmp_path / "videos", 2)
    videos = [await engine.runs.store_video(p, caption="hello") for p in paths]
    run = await engine.runs.create_upload("all", videos, requester=CLI)
    await engine.drive(run.id)

    summary = await engine.runs.summary(run.id)
    assert summary.status == RunStatus.SUCCEEDED
    assert summary.total == 4
    for user in ("demo1", "demo2"):
        posts = await posts_of(engine.site_url, user)
        assert len(posts) == 2
        by_age = sorted(posts, key=lambda p: p["id"])
        assert [p["sha256"] for p in by_age] == [v.sha256 for v in videos]  # in order
    urls = {i.result["post_url"] for i in summary.items if i.result}
    assert len(urls) == 4

    # The same videos again: found on the profiles, recorded, not posted twice.
    rerun = await engine.runs.create_upload("all", videos, requester=CLI)
    await engine.drive(rerun.id)
    again = await engine.runs.summary(rerun.id)
    assert again.status == RunStatus.SUCCEEDED
    assert all(i.result and i.result["already_posted"] for i in again.items)
    assert [len(await posts_of(engine.site_url, u)) for u in ("demo1", "demo2")] == [2, 2]


async def test_spread_gives_each_video_to_one_account(engine: Engine, tmp_path: Path) -> None:
    await engine.add_demo_accounts(2)
    videos = [await engine.runs.store_video(p) for p in write_sample_videos(tmp_path / "v", 3)]
    run = await engine.runs.create_upload("all", videos, spread=True, requester=CLI)
    items = await RunItem.filter(run_id=run.id).order_by("position").prefetch_related("account")
    assert [i.account.label for i in items] == ["demo1", "demo2", "demo1"]


async def test_wrong_password_fails_at_once_as_needs_login(engine: Engine) -> None:
    await engine.add_demo_accounts(3, demo2="not-the-password")
    run = await engine.runs.create_warmup("all", duration_s=0, requester=CLI)
    await engine.drive(run.id)

    summary = await engine.runs.summary(run.id)
    assert summary.status == RunStatus.PARTIAL
    by_account = {i.account: i for i in summary.items}
    assert by_account["demo2"].status == ItemStatus.FAILED
    assert by_account["demo2"].attempts == 1
    assert by_account["demo2"].error_class == "LoginRequired"
    assert "not-the-password" not in (by_account["demo2"].error or "")
    shot = by_account["demo2"].artifact
    assert shot is not None
    assert (await asyncio.to_thread(Path(shot).read_bytes)).startswith(b"\x89PNG")
    assert (by_account["demo1"].status, by_account["demo3"].status) == ("succeeded", "succeeded")
    account = await Account.get(label="demo2")
    assert account.health == Health.NEEDS_LOGIN
    assert account.failure_streak == 1


# 0.4, not 0.3: the adapter now repeats a failed GET or login form within the attempt, so
# it takes this rate for whole attempts to fail and the runner's own retries to show.
@pytest.mark.parametrize(
    "site_options", [DemoSiteOptions(users=10, error_rate=0.4, seed=11)], indirect=False
)
async def test_transient_errors_are_retried_until_success(engine: Engine) -> None:
    await engine.add_demo_accounts(10)
    run = await engine.runs.create_warmup("all", duration_s=0.5, requester=CLI)
    await engine.drive(run.id, max_attempts=12, concurrency=4)

    summary = await engine.runs.summary(run.id)
    assert [i.status for i in summary.items] == ["succeeded"] * 10
    assert any(i.attempts > 1 for i in summary.items), "0.4 error rate caused no retry at all"


async def test_chromium_killed_mid_run_still_completes(engine: Engine) -> None:
    await engine.add_demo_accounts(6)
    run = await engine.runs.create_warmup("all", duration_s=3, requester=CLI)
    killed: list[int] = []
    reporter = RecordingReporter()

    async def kill_browser_once_items_run(_pool: object) -> None:
        async with asyncio.timeout(60):
            await reporter.running.wait()
        procs = chromium_under(os.getpid())
        assert procs, "no Chromium process found"
        for proc in procs:
            killed.append(proc.pid)
            proc.kill()

    await engine.drive(
        run.id, reporter=reporter, on_pool=kill_browser_once_items_run, concurrency=3
    )
    summary = await engine.runs.summary(run.id)
    assert killed
    assert [i.status for i in summary.items] == ["succeeded"] * 6
    assert any(i.attempts > 1 for i in summary.items)


@pytest.mark.parametrize(
    "site_options", [DemoSiteOptions(users=3, verify_users=frozenset({"demo2"}))]
)
async def test_verification_code_answered_by_the_operator(engine: Engine) -> None:
    class ReadsTheCode:
        def __init__(self) -> None:
            self.questions: list[Question] = []

        async def ask(self, question: Question) -> str | None:
            self.questions.append(question)
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"{engine.site_url}/api/last-code", params={"user": "demo2"}) as resp,
            ):
                return str((await resp.json())["code"])

    operator = ReadsTheCode()
    await engine.add_demo_accounts(3)
    run = await engine.runs.create_warmup("all", duration_s=0, requester=CLI)
    await engine.drive(run.id, operator=operator)
    summary = await engine.runs.summary(run.id)
    assert [i.status for i in summary.items] == ["succeeded"] * 3
    assert [q.account for q in operator.questions] == ["demo2"]
    assert operator.questions[0].screenshot.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "site_options", [DemoSiteOptions(users=2, verify_users=frozenset({"demo1"}))]
)
async def test_unanswered_verification_fails_as_needs_attention(engine: Engine) -> None:
    class NeverAnswers:
        async def ask(self, question: Question) -> str | None:
            await asyncio.Event().wait()
            return None

    await engine.add_demo_accounts(2)
    run = await engine.runs.create_warmup("all", duration_s=0, requester=CLI)
    await engine.drive(run.id, operator=NeverAnswers(), verification_timeout_s=1.5)
    summary = await engine.runs.summary(run.id)
    item = next(i for i in summary.items if i.account == "demo1")
    assert (item.status, item.attempts, item.error_class) == ("failed", 1, "VerificationRequired")
    assert "1.5" in (item.error or "") or "2s" in (item.error or "")
    assert (await Account.get(label="demo1")).health == Health.NEEDS_ATTENTION
    assert next(i for i in summary.items if i.account == "demo2").status == "succeeded"


async def test_browser_is_recycled_after_the_configured_contexts(engine: Engine) -> None:
    await engine.add_demo_accounts(5)
    run = await engine.runs.create_warmup("all", duration_s=0, requester=CLI)
    pool = await engine.drive(run.id, recycle_after=2, concurrency=1)
    assert (await engine.runs.summary(run.id)).status == RunStatus.SUCCEEDED
    assert pool.stats["contexts_opened"] == 5
    assert pool.stats["generation"] == 3
    assert chromium_under(os.getpid()) == []


async def test_cancel_stops_pending_items(engine: Engine) -> None:
    await engine.add_demo_accounts(4)
    run = await engine.runs.create_warmup("all", duration_s=30, requester=CLI)

    reporter = RecordingReporter()

    async def cancel_when_running(_pool: object) -> None:
        async with asyncio.timeout(60):
            await reporter.running.wait()
        await engine.runs.cancel(run.id)

    await engine.drive(run.id, reporter=reporter, on_pool=cancel_when_running, concurrency=1)
    summary = await engine.runs.summary(run.id)
    assert summary.status == RunStatus.CANCELLED
    assert {i.status for i in summary.items} == {"cancelled"}
    assert summary.finished_at is not None
    assert await Account.filter(lease_owner__isnull=False).count() == 0


async def test_selectors(engine: Engine) -> None:
    await engine.add_demo_accounts(3)
    await Account.filter(label="demo3").update(tags=["eu"], health=Health.OK)
    assert [a.label for a in await engine.runs.select("#eu")] == ["demo3"]
    assert [a.label for a in await engine.runs.select("demo2, demo1")] == ["demo2", "demo1"]
    with pytest.raises(SelectorError, match=r"no account labelled 'demo4' \(did you mean"):
        await engine.runs.select("demo1,demo4")
    with pytest.raises(SelectorError, match="no active account has the tag #us"):
        await engine.runs.select("#us")
    await Account.filter(label="demo1").update(health=Health.DISABLED)
    assert [a.label for a in await engine.runs.select("all")] == ["demo2", "demo3"]


async def test_a_session_the_browser_refuses_fails_its_item_only(engine: Engine) -> None:
    """A malformed saved session is that account's permanent error, never a dead browser."""
    await engine.add_demo_accounts(2)
    broken = {"cookies": [], "origins": [{"origin": "http://x", "localStorage": "not a list"}]}
    await Account.filter(label="demo1").update(
        session_state_enc=engine.db.secrets.encrypt(json.dumps(broken))
    )
    run = await engine.runs.create_warmup("all", duration_s=0, requester=CLI)
    pool = await engine.drive(run.id, max_attempts=3)

    items = {i.account: i for i in (await engine.runs.summary(run.id)).items}
    assert items["demo1"].status == "failed"
    assert items["demo1"].attempts == 1  # permanent: not retried
    assert items["demo1"].error is not None
    assert items["demo1"].error.startswith("SessionRejected")
    assert items["demo2"].status == "succeeded"
    assert pool.stats["generation"] == 1  # the browser was never taken for dead
    assert (await Account.get(label="demo1")).health == Health.NEEDS_LOGIN


def typed_in_sealed_trace(sealed: Path, secrets: SecretBox, out: Path, secret: bytes) -> bool:
    """Check the sealed file's form; decrypt it and tell whether ``secret`` is inside."""
    assert sealed.name.endswith(".trace.zip.enc")
    assert sealed.stat().st_mode & 0o777 == 0o600
    assert not list(sealed.parent.glob("*.trace.zip"))  # no readable copy left behind
    assert secret not in sealed.read_bytes()
    unseal(sealed, secrets, out)
    assert out.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(out) as trace:
        return secret in b"".join(trace.read(name) for name in trace.namelist())


async def test_a_failure_trace_is_sealed_because_it_holds_the_typed_password(
    engine: Engine, tmp_path: Path
) -> None:
    await engine.add_demo_accounts(1, demo1="wrong-password-4711")
    run = await engine.runs.create_warmup("all", duration_s=0, requester=CLI)
    await engine.drive(run.id, trace="on-failure")

    item = await RunItem.get(run_id=run.id)
    assert item.error_class == "LoginRequired"
    assert item.trace_path is not None
    # Decrypted on purpose it is a real trace, and it does hold what was typed.
    assert typed_in_sealed_trace(
        Path(item.trace_path), engine.db.secrets, tmp_path / "trace.zip", b"wrong-password-4711"
    )


@pytest.mark.parametrize(
    "site_options",
    [DemoSiteOptions(users=10, error_rate=0.3, seed=seed) for seed in (11, 22, 33, 44, 55)],
    ids=lambda options: f"seed{options.seed}",
)
async def test_a_warmup_gets_through_thirty_percent_server_errors(engine: Engine) -> None:
    """Steps safe to repeat (every GET, the login form) are repeated within an attempt."""
    await engine.add_demo_accounts(10)
    run = await engine.runs.create_warmup("all", duration_s=1, requester=CLI)
    await engine.drive(run.id, concurrency=4)
    summary = await engine.runs.summary(run.id)
    assert [i.status for i in summary.items] == ["succeeded"] * 10, [
        (i.account, i.error) for i in summary.items if i.error
    ]

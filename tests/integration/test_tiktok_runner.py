"""The runner driving TikTok accounts against the replica: a fleet's warmups and uploads,
and what each failure does to the item and the account."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from automation.accounts import AccountRow, AccountService
from automation.config import SitesConfig, TikTokSiteConfig
from automation.reporting import Question
from automation.runs import Requester
from automation.sites.demo.samples import write_sample_videos
from bot.config import Settings
from bot.i18n import texts
from bot.views import accounts_page
from storage.models import Account, Health, RunStatus, Trigger
from tests.integration.conftest import Engine, open_engine
from tests.tiktok_replica.harness import add_tiktok_accounts, api, posts_of
from tests.tiktok_replica.server import TikTokReplica
from tests.tiktok_replica.state import SOMETHING_WENT_WRONG, ReplicaOptions

CLI = Requester(Trigger.CLI)
POST_URL = r"^{base}/@brand{k}/video/\d{{19}}$"


class TikTokEngine(Engine):
    """The integration Engine with a replica in place of the demo site."""

    replica: TikTokReplica


async def make_engine(
    settings: Settings, replica: TikTokReplica, **tiktok: Any
) -> AsyncIterator[TikTokEngine]:
    sites = SitesConfig(tiktok=TikTokSiteConfig(base_url=replica.url, **tiktok))
    async with open_engine(settings, sites, replica.url, concurrency=4) as engine:
        tiktok_engine = TikTokEngine(engine.settings, engine.db, engine.runs, engine.site_url)
        tiktok_engine.replica = replica
        yield tiktok_engine


@pytest.fixture
def replica_options() -> ReplicaOptions:
    return ReplicaOptions(upload_delay_s=0.5, seed=5, popup_chance=0.8)


@pytest.fixture
async def replica(replica_options: ReplicaOptions) -> AsyncIterator[TikTokReplica]:
    async with TikTokReplica(replica_options) as running:
        yield running


@pytest.fixture
async def tiktok(settings: Settings, replica: TikTokReplica) -> AsyncIterator[TikTokEngine]:
    async for engine in make_engine(settings, replica, rate_limit_cooldown_s=4):
        yield engine


async def upload_run(
    engine: TikTokEngine, tmp_path: Path, selector: str = "all", count: int = 1
) -> int:
    paths = write_sample_videos(tmp_path / "videos", count)
    videos = [await engine.runs.store_video(p, caption="Launch day #newdrop") for p in paths]
    return (await engine.runs.create_upload(selector, videos, requester=CLI)).id


@pytest.mark.parametrize("layout", ["plain", "iframe"])
async def test_four_accounts_warm_up_then_upload_once_each(
    tiktok: TikTokEngine, tmp_path: Path, layout: str
) -> None:
    tiktok.replica.options.layout = layout
    labels = await add_tiktok_accounts(tiktok.db.secrets, tiktok.site_url, 4)
    warmup = await tiktok.runs.create_warmup("all", duration_s=3, requester=CLI)
    await tiktok.drive(warmup.id)
    summary = await tiktok.runs.summary(warmup.id)
    assert summary.status == RunStatus.SUCCEEDED, summary
    assert [i.account for i in summary.items] == labels
    assert all(i.result and i.result["posts_viewed"] >= 1 for i in summary.items)
    assert all(a.last_warmup_at is not None for a in await Account.all())

    run_id = await upload_run(tiktok, tmp_path)
    await tiktok.drive(run_id)
    summary = await tiktok.runs.summary(run_id)
    assert summary.status == RunStatus.SUCCEEDED, summary
    for k, item in enumerate(summary.items, start=1):
        assert item.result is not None
        assert re.match(
            POST_URL.format(base=re.escape(tiktok.site_url), k=k), item.result["post_url"]
        )
        [post] = await posts_of(tiktok.site_url, f"brand{k}")
        assert item.result["post_url"].endswith(f"/video/{post['id']}")
        assert post["caption"].startswith("Launch day #newdrop fb-")
    assert len(tiktok.replica.state.posts) == 4


async def test_no_session_or_an_expired_one_is_needs_login_without_retry(
    tiktok: TikTokEngine, tmp_path: Path
) -> None:
    await add_tiktok_accounts(tiktok.db.secrets, tiktok.site_url, 2)
    await add_tiktok_accounts_without_session(tiktok)
    await api(tiktok.site_url, "/api/expire", {})  # tt1 and tt2 hold sessions TikTok ended
    run_id = await upload_run(tiktok, tmp_path)
    await tiktok.drive(run_id)
    summary = await tiktok.runs.summary(run_id)
    assert summary.status == RunStatus.FAILED
    for item in summary.items:
        assert (item.status, item.error_class, item.attempts) == ("failed", "LoginRequired", 1)
        assert f"fleetbot accounts login {item.account}" in (item.error or "")
    assert {a.health for a in await Account.all()} == {Health.NEEDS_LOGIN}
    assert tiktok.replica.state.upload_attempts == 0


async def add_tiktok_accounts_without_session(engine: TikTokEngine) -> None:
    await AccountService(engine.db.secrets).import_rows([AccountRow("fresh", "tiktok", "brand9")])


class SilentOperator:
    """A real Operator whose human never answers; it keeps what it was asked."""

    def __init__(self) -> None:
        self.questions: list[Question] = []

    async def ask(self, question: Question) -> str | None:
        self.questions.append(question)
        await asyncio.Event().wait()  # nobody ever answers
        return None


async def test_captcha_asks_the_human_with_a_screenshot_then_needs_attention(
    tiktok: TikTokEngine, tmp_path: Path
) -> None:
    tiktok.replica.options.captcha = True
    await add_tiktok_accounts(tiktok.db.secrets, tiktok.site_url, 1)
    run_id = await upload_run(tiktok, tmp_path)
    operator = SilentOperator()
    await tiktok.drive(run_id, operator=operator, verification_timeout_s=2)
    [item] = (await tiktok.runs.summary(run_id)).items
    assert (item.status, item.error_class, item.attempts) == ("failed", "VerificationRequired", 1)
    [question] = operator.questions
    assert question.account == "tt1"
    assert "captcha" in question.prompt
    assert question.screenshot.startswith(b"\x89PNG")
    assert (await Account.get(label="tt1")).health == Health.NEEDS_ATTENTION
    assert tiktok.replica.state.posts == []


async def test_something_went_wrong_fails_the_item_at_once_with_the_sites_words(
    tiktok: TikTokEngine, tmp_path: Path
) -> None:
    tiktok.replica.options.something_wrong = True
    await add_tiktok_accounts(tiktok.db.secrets, tiktok.site_url, 1)
    run_id = await upload_run(tiktok, tmp_path)
    await tiktok.drive(run_id)
    [item] = (await tiktok.runs.summary(run_id)).items
    assert (item.status, item.error_class, item.attempts) == ("failed", "UploadRejected", 1)
    assert SOMETHING_WENT_WRONG in (item.error or "")
    assert tiktok.replica.state.upload_attempts == 1


async def test_rate_limit_cools_the_account_down_and_later_runs_skip_it_until_then(
    tiktok: TikTokEngine, tmp_path: Path
) -> None:
    tiktok.replica.options.rate_limit = True
    await add_tiktok_accounts(tiktok.db.secrets, tiktok.site_url, 2)
    first = await upload_run(tiktok, tmp_path, "tt1")
    await tiktok.drive(first)
    [item] = (await tiktok.runs.summary(first)).items
    assert (item.status, item.error_class, item.attempts) == ("failed", "RateLimited", 1)
    account = await Account.get(label="tt1")
    assert account.cooldown_until is not None
    assert account.health == Health.OK  # resting, not broken
    text, _ = accounts_page(
        texts("en"), await AccountService(tiktok.db.secrets).list_accounts(), 0
    )
    assert f"skipped by runs until {account.cooldown_until:%Y-%m-%d %H:%M} UTC" in text
    assert text.count("skipped by runs until") == 1  # tt2 is not resting
    attempts = tiktok.replica.state.upload_attempts

    tiktok.replica.options.rate_limit = False
    second = await upload_run(tiktok, tmp_path)
    await tiktok.drive(second)
    by_account = {i.account: i for i in (await tiktok.runs.summary(second)).items}
    assert by_account["tt1"].status == "skipped"
    assert f"until {account.cooldown_until:%Y-%m-%d %H:%M} UTC" in (by_account["tt1"].error or "")
    assert by_account["tt2"].status == "succeeded"
    assert tiktok.replica.state.upload_attempts == attempts + 1  # only tt2 went to TikTok

    # The cool-down is over: tt1 takes part again.
    await asyncio.sleep(max(0.0, (account.cooldown_until - datetime.now(UTC)).total_seconds()))
    third = await upload_run(tiktok, tmp_path, "tt1")
    await tiktok.drive(third)
    [item] = (await tiktok.runs.summary(third)).items
    assert item.status == "succeeded"
    assert len(await posts_of(tiktok.site_url, "brand1")) == 1

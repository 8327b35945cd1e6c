"""Outcome rules, backoff and run status derivation, without a browser or a database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.expressions import CombinedExpression

from automation.errors import (
    AccountBlocked,
    BrowserCrashed,
    BrowserUnavailable,
    ItemTimeout,
    LoginRequired,
    SessionRejected,
    SiteError,
    TransientSiteError,
    UploadRejected,
    VerificationRequired,
)
from automation.outcomes import (
    Failure,
    Success,
    abandoned_changes,
    backoff,
    crashed_changes,
    failure_changes,
    interrupted_changes,
    success_changes,
    will_retry,
)
from automation.sites.base import PostRef, WarmupReport
from automation.summary import derive_status
from storage.models import Health, ItemStatus, RunStatus

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
LEASE_CLEARED = {"lease_owner": None, "lease_until": None}


@pytest.mark.parametrize(
    ("error", "attempts", "retried"),
    [
        (TransientSiteError("5xx"), 1, True),
        (BrowserCrashed("gone"), 2, True),
        (ItemTimeout.after(600), 3, False),  # the last allowed attempt
        (LoginRequired("bad password"), 1, False),
        (VerificationRequired("no code"), 1, False),
        (UploadRejected("too long"), 1, False),
        (SessionRejected("malformed"), 1, False),
        (SiteError("unexpected KeyError in the site adapter"), 1, False),
    ],
)
def test_only_transient_errors_with_attempts_left_are_retried(
    error: SiteError, attempts: int, retried: bool
) -> None:
    assert will_retry(error, attempts, max_attempts=3) is retried
    changes = failure_changes(Failure(error), attempts, 3, NOW, timedelta(seconds=4))
    assert changes.event == ("retrying" if retried else "failed")
    if retried:
        assert changes.item["status"] == ItemStatus.PENDING
        assert changes.item["not_before"] == NOW + timedelta(seconds=4)
        assert "finished_at" not in changes.item
        assert changes.account == LEASE_CLEARED  # a retry says nothing about the account yet
    else:
        assert changes.item["status"] == ItemStatus.FAILED
        assert changes.item["finished_at"] == NOW
        assert isinstance(changes.account["failure_streak"], CombinedExpression)


@pytest.mark.parametrize(
    ("error", "health"),
    [
        (LoginRequired("x"), Health.NEEDS_LOGIN),
        (SessionRejected("x"), Health.NEEDS_LOGIN),
        (VerificationRequired("x"), Health.NEEDS_ATTENTION),
        (AccountBlocked("x"), Health.NEEDS_ATTENTION),
        (UploadRejected("x"), None),
        (TransientSiteError("x"), None),
    ],
)
def test_a_final_failure_sets_the_health_its_error_implies(
    error: SiteError, health: Health | None
) -> None:
    changes = failure_changes(Failure(error), 3, 3, NOW, timedelta())
    assert changes.account.get("health") == health


def test_a_failure_keeps_its_class_message_and_artifacts_and_releases_the_lease() -> None:
    failure = Failure(UploadRejected("x" * 5000), screenshot="a.png", trace="a.trace.zip")
    changes = failure_changes(failure, 1, 3, NOW, timedelta())
    assert changes.item["error_class"] == "UploadRejected"
    assert len(changes.item["error_message"]) == 2000
    assert changes.item["screenshot_path"] == "a.png"
    assert changes.item["trace_path"] == "a.trace.zip"
    assert LEASE_CLEARED.items() <= changes.item.items()


def test_success_stores_the_result_and_resets_the_account() -> None:
    post = success_changes(Success(PostRef("http://x/post/1"), state_enc="token"), NOW)
    assert post.event == "succeeded"
    assert post.item["status"] == ItemStatus.SUCCEEDED
    assert post.item["result"] == {"post_url": "http://x/post/1", "already_posted": False}
    assert post.item["error_class"] is None and post.item["not_before"] is None
    assert post.account["health"] == Health.OK and post.account["failure_streak"] == 0
    assert post.account["session_state_enc"] == "token"
    assert "last_warmup_at" not in post.account  # only warmups count as warmups

    warm = success_changes(Success(WarmupReport("demo1", 3, 7, 12.34)), NOW)
    assert warm.account["last_warmup_at"] == NOW
    assert "session_state_enc" not in warm.account  # no session came back: keep the old one
    assert warm.item["result"]["seconds"] == 12.3


def test_cancelled_items_end_and_stopped_items_go_back_uncounted() -> None:
    cancelled = interrupted_changes(cancelled=True, now=NOW)
    assert cancelled.item["status"] == ItemStatus.CANCELLED
    assert cancelled.item["finished_at"] == NOW
    stopped = interrupted_changes(cancelled=False, now=NOW)
    assert stopped.item["status"] == ItemStatus.PENDING
    assert isinstance(stopped.item["attempts"], CombinedExpression)  # attempts - 1
    assert "finished_at" not in stopped.item
    for changes in (cancelled, stopped):
        assert changes.account == LEASE_CLEARED


def test_a_bug_of_ours_fails_the_item_at_once_without_blaming_the_account() -> None:
    crashed = crashed_changes(SiteError("unexpected KeyError in the runner (see the log)"), NOW)
    assert crashed.event == "failed"
    assert crashed.item["status"] == ItemStatus.FAILED
    assert crashed.item["error_class"] == "SiteError"
    assert crashed.item["error_message"].startswith("unexpected KeyError")
    assert crashed.item["finished_at"] == NOW
    assert crashed.account == LEASE_CLEARED  # no failure streak, no health change


def test_an_abandoned_item_fails_only_on_its_last_allowed_attempt() -> None:
    again = abandoned_changes(attempts=2, max_attempts=3, now=NOW)
    assert again["status"] == ItemStatus.PENDING and again["not_before"] is None
    last = abandoned_changes(attempts=3, max_attempts=3, now=NOW)
    assert last["status"] == ItemStatus.FAILED
    assert last["error_class"] == "Interrupted"
    assert last["finished_at"] == NOW


def test_backoff_doubles_per_attempt_up_to_the_cap_times_jitter() -> None:
    waits = [backoff(n, 2.0, 120.0, 1.0).total_seconds() for n in range(1, 9)]
    assert waits == [2, 4, 8, 16, 32, 64, 120, 120]
    assert backoff(3, 2.0, 120.0, 0.5).total_seconds() == 4
    assert backoff(3, 2.0, 120.0, 1.5).total_seconds() == 12
    assert backoff(0, 2.0, 120.0, 1.0).total_seconds() == 2  # never below the base


def test_item_timeout_names_its_deadline() -> None:
    assert str(ItemTimeout.after(600)) == "item took longer than 600s"


@pytest.mark.parametrize(
    ("counts", "current", "final"),
    [
        ({"pending": 1, "succeeded": 2}, RunStatus.RUNNING, None),
        ({"running": 1}, RunStatus.RUNNING, None),
        ({"succeeded": 3}, RunStatus.RUNNING, RunStatus.SUCCEEDED),
        ({"succeeded": 2, "skipped": 1}, RunStatus.RUNNING, RunStatus.SUCCEEDED),
        ({"succeeded": 2, "failed": 1}, RunStatus.RUNNING, RunStatus.PARTIAL),
        ({"skipped": 1, "failed": 1}, RunStatus.RUNNING, RunStatus.PARTIAL),
        ({"failed": 3}, RunStatus.RUNNING, RunStatus.FAILED),
        ({"failed": 1, "cancelled": 2}, RunStatus.RUNNING, RunStatus.FAILED),
        ({"cancelled": 3}, RunStatus.RUNNING, RunStatus.CANCELLED),
        ({"succeeded": 1, "cancelled": 2}, RunStatus.RUNNING, RunStatus.SUCCEEDED),
        ({"succeeded": 3}, RunStatus.CANCELLED, RunStatus.CANCELLED),
        ({"pending": 0, "succeeded": 1}, RunStatus.RUNNING, RunStatus.SUCCEEDED),
    ],
)
def test_run_status_is_derived_from_item_counts(
    counts: dict[str, int], current: RunStatus, final: RunStatus | None
) -> None:
    assert derive_status(Counter(counts), current) == final


def test_open_statuses_live_on_the_enums() -> None:
    assert set(ItemStatus.open()) == {s for s in ItemStatus if not s.is_final}
    assert set(RunStatus.claimable()) < set(RunStatus.open())
    assert not any(RunStatus(s).is_final for s in RunStatus.open())


def test_no_browser_means_no_attempt_however_many_were_made() -> None:
    changes = failure_changes(Failure(BrowserUnavailable("server down")), 3, 3, NOW, timedelta(2))
    assert changes.event == "retrying"  # even past max_attempts: nothing was attempted
    assert changes.item["status"] == ItemStatus.PENDING
    assert isinstance(changes.item["attempts"], CombinedExpression)  # attempts - 1
    assert changes.account == LEASE_CLEARED

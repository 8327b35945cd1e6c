"""The TikTok adapter's pure rules: captions, config overrides, cool-downs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from automation.config import TikTokSiteConfig
from automation.cooldown import account_changes, resting_until
from automation.errors import RateLimited, UploadRejected
from automation.sites.checks import Check, Found, SiteCheck
from automation.sites.tiktok.adapter import TikTokAdapter, compose_caption
from automation.sites.tiktok.selectors import CAPTION_MAX, Selectors, Texts

MARKER = "fb-0123456789ab"


def test_caption_keeps_the_marker_within_tiktoks_cap() -> None:
    assert compose_caption("Beach day #summer", MARKER) == f"Beach day #summer {MARKER}"
    assert compose_caption("  ", MARKER) == MARKER
    long = compose_caption("x" * 5000, MARKER)
    assert len(long) == CAPTION_MAX
    assert long.endswith(f" {MARKER}")


def test_overrides_replace_single_fields_and_unknown_keys_are_refused() -> None:
    config = TikTokSiteConfig(
        selectors={"post_button": "button.post"}, texts={"rate_limited": "Slow down"}
    )
    adapter = TikTokAdapter(config)
    assert adapter.sel.post_button == "button.post"
    assert adapter.sel.file_input == Selectors().file_input
    assert adapter.txt.rate_limited == "Slow down"
    with pytest.raises(ValidationError, match="unknown key"):
        TikTokSiteConfig(selectors={"post_buton": "x"})
    with pytest.raises(ValidationError, match="empty override"):
        TikTokSiteConfig(texts={"got_it": " "})
    with pytest.raises(ValidationError):
        TikTokSiteConfig(visibility="public")  # type: ignore[arg-type]


def test_every_selector_and_text_says_where_the_probe_finds_it() -> None:
    pages = {"upload", "form", "content", "feed", "popup"}
    for table in (Selectors, Texts):
        assert {table.page_of(name) for name in table.field_names()} <= pages


def test_a_rate_limit_sets_a_cool_down_and_nothing_else_does() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    changes = account_changes(RateLimited("too many", cooldown_s=3600), now)
    assert changes == {"cooldown_until": now + timedelta(hours=1)}
    assert account_changes(UploadRejected("no"), now) == {}
    assert account_changes(RateLimited("too many", cooldown_s=0), now) == {}
    assert resting_until(now + timedelta(seconds=1), now) == now + timedelta(seconds=1)
    assert resting_until(now, now) is None
    assert resting_until(None, now) is None


def test_probe_report_names_the_missing_selector_and_its_key() -> None:
    report = SiteCheck("tiktok", "tt1", logged_in=True)
    report.checks = [
        Check(
            "file_input",
            "selector",
            "input",
            "upload",
            "[sites.tiktok.selectors] file_input",
            Found.FOUND,
        ),
        Check(
            "post_button",
            "selector",
            "button",
            "form",
            "[sites.tiktok.selectors] post_button",
            Found.MISSING,
        ),
    ]
    assert report.ok is False
    assert report.to_json()["missing"] == ["post_button"]
    [line] = [line for line in report.lines() if "post_button" in line]
    assert line.startswith("MISS") and "override with [sites.tiktok.selectors] post_button" in line

"""The bot's pure parts: argument parsing, message texts, the language catalogs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fluent.syntax import FluentParser, ast

from automation.accounts import AccountView
from automation.summary import ItemSummary, RunSummary
from bot.i18n import LANGUAGES, LOCALES_DIR, pick_language, texts
from bot.parsing import (
    UsageError,
    parse_duration,
    parse_run_id,
    parse_schedule_id,
    parse_warmup,
    safe_file_name,
    split_args,
)
from bot.views import accounts_page, bar, progress_text, summary_keyboard, summary_text

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def catalog_ids(language: str) -> set[str]:
    resource = FluentParser().parse(
        (LOCALES_DIR / language / "fleetbot.ftl").read_text(encoding="utf-8")
    )
    assert not [e for e in resource.body if isinstance(e, ast.Junk)], "syntax error in catalog"
    return {entry.id.name for entry in resource.body if isinstance(entry, ast.Message)}


def test_every_language_has_every_message() -> None:
    english = catalog_ids("en")
    assert len(english) > 30
    for language in LANGUAGES:
        assert catalog_ids(language) == english, language


@pytest.mark.parametrize(
    ("choice", "code", "expected"),
    [
        ("auto", "ru", "ru"),
        ("auto", "ru-RU", "ru"),
        ("auto", "de", "en"),
        ("auto", None, "en"),
        ("ru", "en", "ru"),
        ("en", "ru", "en"),
    ],
)
def test_language_follows_the_user_unless_forced(
    choice: str, code: str | None, expected: str
) -> None:
    assert pick_language(choice, code) == expected  # type: ignore[arg-type]


def test_russian_texts_are_russian() -> None:
    assert texts("ru")("refused") != texts("en")("refused")
    assert "Использование" in texts("ru")("usage", usage="/run ID", example="/run 1")


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("5m", 300), ("1h", 3600), ("45", 45), ("2.5m", 150)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "-1", "m5", "7h", "1e9"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_duration(text)
    assert caught.value.key == "bad-duration"


def test_warmup_arguments_in_any_order() -> None:
    assert parse_warmup([], 60) == ("all", 60)
    assert parse_warmup(["#morning", "5m"], 60) == ("#morning", 300)
    assert parse_warmup(["90s", "demo1,demo2"], 60) == ("demo1,demo2", 90)
    with pytest.raises(UsageError):
        parse_warmup(["a", "b"], 60)
    with pytest.raises(UsageError):
        parse_warmup(["a", "1m", "x"], 60)


def test_run_ids_and_quotes() -> None:
    assert parse_run_id(["#12"], "run") == 12
    with pytest.raises(UsageError) as caught:
        parse_run_id(["twelve"], "run")
    assert caught.value.key == "bad-run-id"
    assert split_args('/schedule warmup "daily 09:00" all') == ["warmup", "daily 09:00", "all"]
    with pytest.raises(UsageError):
        split_args('/schedule warmup "daily 09:00')


def test_schedule_ids_are_called_schedule_numbers() -> None:
    assert parse_schedule_id(["#3"], "pause") == 3
    with pytest.raises(UsageError) as caught:
        parse_schedule_id(["three"], "pause")
    reply = texts("en")(caught.value.key, **caught.value.args_)
    assert reply == "“three” is not a schedule number."
    with pytest.raises(UsageError) as caught:
        parse_schedule_id([], "unschedule")
    assert caught.value.args_ == {"command": "unschedule"}


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/abs/path.mp4", "a\x00b.mp4", "x" * 5000, "..", ""]
)
def test_file_names_cannot_escape(name: str) -> None:
    safe = safe_file_name(name)
    assert "/" not in safe and "\x00" not in safe and safe not in {".", ".."}
    assert 0 < len(safe) <= 100


def summary(statuses: list[tuple[str, str, str | None]]) -> RunSummary:
    items = [
        ItemSummary(
            item_id=i,
            account=account,
            status=status,
            attempts=1,
            error=f"{error}: details" if error else None,
            error_class=error,
            result={"post_url": f"http://site/p/{i}"} if status == "succeeded" else None,
        )
        for i, (account, status, error) in enumerate(statuses)
    ]
    return RunSummary(
        run_id=7,
        kind="upload",
        status="partial",
        trigger="manual",
        created_at=T0,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=95),
        items=items,
    )


def test_summary_groups_failures_and_lists_posts() -> None:
    run = summary(
        [
            ("a", "succeeded", None),
            ("b", "failed", "LoginRequired"),
            ("c", "failed", "LoginRequired"),
            ("d", "failed", "UploadRejected"),
        ]
    )
    text = summary_text(texts("en"), run)
    assert text.splitlines()[0].endswith("1 of 4 succeeded, 3 failed in 1m 35s.")
    assert "LoginRequired (2): b, c" in text
    assert "UploadRejected (1): d" in text
    assert "a: http://site/p/0" in text
    buttons = [b.callback_data for b in summary_keyboard(texts("en"), run).inline_keyboard[0]]
    assert buttons == ["run:retry:7", "run:show:7"]


def test_progress_bar_moves_with_settled_items() -> None:
    assert bar(0, 4) == "░" * 12
    assert bar(2, 4) == "▓" * 6 + "░" * 6
    text = progress_text(
        texts("en"), summary([("a", "succeeded", None), ("b", "running", None)]).progress
    )
    assert "1/2" in text and "✅ 1" in text


def test_accounts_are_paged() -> None:
    views = [
        AccountView(f"acc{i:02}", "demo", f"u{i}", "ok", None, [], None, True, False, 0)
        for i in range(23)
    ]
    first, markup = accounts_page(texts("en"), views, 0)
    assert "acc00" in first and "acc10" not in first
    assert markup is not None
    assert [b.callback_data for b in markup.inline_keyboard[0]] == ["acc:1"]
    last, markup = accounts_page(texts("en"), views, 9)  # past the end: the last page
    assert "acc22" in last and "21\N{EN DASH}23 of 23" in last
    assert markup is not None
    assert [b.callback_data for b in markup.inline_keyboard[0]] == ["acc:1"]

"""Text a website chose reaches the terminal inert: no escape sequences, no rich markup."""

from __future__ import annotations

import io
from collections import Counter

import pytest

from automation.reporting import ItemEvent
from automation.summary import RunProgress
from cli.output import print_table, say, warn
from cli.terminal import TerminalReporter

# Clear the screen, retitle the window, plant a hyperlink, reverse what follows.
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x1b]8;;https://evil.example\x1b\\click\u202emoc.live\x9b31m"
MARKUP = "[/bold] [link=https://evil.example]click[/link] [red]"


def failed(error: str, post_url: str | None = None) -> ItemEvent:
    result = {"post_url": post_url} if post_url else None
    return ItemEvent(1, 1, "demo1", "failed", 1, error=error, result=result)


def progress() -> RunProgress:
    return RunProgress(1, "upload", Counter({"failed": 1}))


def assert_inert(text: str) -> None:
    assert not any(c in text for c in "\x1b\x07\x9b\u202e"), repr(text)


async def test_plain_progress_lines_escape_control_characters() -> None:
    stream = io.StringIO()
    await TerminalReporter(stream, live=False).item_event(
        failed(HOSTILE + "\nfake line", "https://site.example/post/1" + HOSTILE), progress()
    )
    out = stream.getvalue()
    assert_inert(out)
    assert out.count("\n") == 1  # a newline from the site cannot forge a second line
    assert "\\x1b[2J" in out and "\\u202e" in out


async def test_live_progress_prints_site_text_without_reading_it_as_markup() -> None:
    stream = io.StringIO()
    with TerminalReporter(stream, live=True) as reporter:
        await reporter.item_event(failed(MARKUP + HOSTILE), progress())
    out = stream.getvalue()
    assert_inert(out)
    assert "[link=https://evil.example]click[/link]" in out


def test_command_output_escapes_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(["account", "error"], [("demo1", HOSTILE)])
    say("run #1: " + HOSTILE)
    warn(HOSTILE)
    captured = capsys.readouterr()
    assert_inert(captured.out + captured.err)
    assert "\\x1b]0;pwned\\x07" in captured.out

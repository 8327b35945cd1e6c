"""Which browser binary fleetbot launches: the headless shell for headless work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from automation.chromium import find_chromium
from automation.config import AutomationConfig
from automation.errors import BrowserNotFound


def binary(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def playwright_browsers(tmp_path: Path) -> tuple[str, str]:
    """A Playwright browsers dir holding a Chromium and a headless shell."""
    root = tmp_path / "ms-playwright"
    full = binary(root / "chromium-1255" / "chrome-linux64" / "chrome")
    shell = binary(
        root
        / "chromium_headless_shell-1255"
        / "chrome-headless-shell-linux64"
        / "chrome-headless-shell"
    )
    return full, shell


@pytest.fixture
def system_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An otherwise empty PATH the test fills with system browsers."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


def test_headless_prefers_playwrights_headless_shell(
    playwright_browsers: tuple[str, str], system_path: Path
) -> None:
    full, shell = playwright_browsers
    binary(system_path / "chromium-headless-shell")
    assert find_chromium(AutomationConfig(headless=True), full) == shell


def test_debians_headless_binary_not_its_wrapper_script(system_path: Path) -> None:
    binary(system_path / "chromium-headless-shell")
    chosen = find_chromium(AutomationConfig(headless=True), None)
    if Path("/usr/lib/chromium/chromium-headless-shell").is_file():
        assert chosen == "/usr/lib/chromium/chromium-headless-shell"
    else:
        assert chosen == str(system_path / "chromium-headless-shell")


def test_headed_work_gets_the_full_browser(
    playwright_browsers: tuple[str, str], system_path: Path
) -> None:
    full, _shell = playwright_browsers
    assert find_chromium(AutomationConfig(headless=False), full) == full


def test_system_headless_shell_before_any_full_browser(
    system_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("automation.chromium.DEBIAN_HEADLESS_SHELL", "/nonexistent")
    system_full = binary(system_path / "chromium")
    system_shell = binary(system_path / "chromium-headless-shell")
    assert find_chromium(AutomationConfig(headless=True), None) == system_shell
    assert find_chromium(AutomationConfig(headless=False), None) == system_full


def test_full_browser_when_no_shell_exists(
    system_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("automation.chromium.DEBIAN_HEADLESS_SHELL", "/nonexistent")
    system_full = binary(system_path / "chromium")
    assert find_chromium(AutomationConfig(headless=True), "/nonexistent/chrome") == system_full


def test_configured_path_wins(playwright_browsers: tuple[str, str], tmp_path: Path) -> None:
    mine = binary(tmp_path / "my-chrome")
    full, _shell = playwright_browsers
    assert find_chromium(AutomationConfig(executable_path=mine), full) == mine
    with pytest.raises(BrowserNotFound, match="does not exist"):
        find_chromium(AutomationConfig(executable_path=mine + "-gone"), full)


def test_nothing_found_says_how_to_install(
    system_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("automation.chromium.DEBIAN_HEADLESS_SHELL", "/nonexistent")
    assert os.environ["PATH"] == str(system_path)
    with pytest.raises(BrowserNotFound, match="apt-get install chromium chromium-headless-shell"):
        find_chromium(AutomationConfig(), None)

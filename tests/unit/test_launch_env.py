"""What Chromium is launched with: no fleetbot variable, and a warning when it cannot sandbox."""

from __future__ import annotations

import pytest

from automation.chromium import child_environment, sandbox_warning
from automation.config import AutomationConfig


def test_chromium_gets_no_fleetbot_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETBOT_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("FLEETBOT_BOT__TOKEN", "123456:token")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = child_environment()
    assert not [name for name in env if name.startswith("FLEETBOT_")]
    assert env["LANG"] == "C.UTF-8"


def test_root_is_warned_once_with_how_to_avoid_it() -> None:
    local = AutomationConfig()
    warning = sandbox_warning(local, root=True)
    assert warning is not None
    assert "--no-sandbox" in warning and "unprivileged user" in warning
    assert sandbox_warning(local, root=False) is None
    # A remote browser server has its own user: nothing to say about this machine.
    assert sandbox_warning(AutomationConfig(connect_url="ws://10.0.0.5:3000/"), root=True) is None

"""The systemd units in deploy/ pass systemd's own checker, and keep secrets out."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent.parent / "deploy"
UNITS = ("fleetbot-serve.service", "fleetbot-worker@.service")


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_units_verify(tmp_path: Path) -> None:
    # ExecStart points at /opt/fleetbot; systemd checks that it exists, so point the copies
    # at this checkout's fleetbot (the same console script).
    fleetbot = str(Path(sys.executable).parent / "fleetbot")
    paths = []
    for unit in UNITS:
        text = (DEPLOY / unit).read_text().replace("/opt/fleetbot/.venv/bin/fleetbot", fleetbot)
        (tmp_path / unit).write_text(text)
        paths.append(str(tmp_path / unit))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *paths],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "fleetbot" not in done.stderr, done.stderr  # no warning about our units


def test_secrets_come_from_the_environment_file_only() -> None:
    for unit in UNITS:
        text = (DEPLOY / unit).read_text()
        assert "EnvironmentFile=/etc/fleetbot/fleetbot.env" in text
        assert "UMask=0077" in text
        for secret in ("FLEETBOT_BOT__TOKEN", "FLEETBOT_SECRET_KEY", "DB_URL"):
            assert secret not in text
    example = (DEPLOY / "fleetbot.env.example").read_text()
    assert "FLEETBOT_SECRET_KEY=\n" in example  # shipped empty
    assert "FLEETBOT_BOT__TOKEN=\n" in example

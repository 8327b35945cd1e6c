"""Nothing under the data dir is readable by another local user, whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from tests.helpers import FLEETBOT, cli_env

CSV = "label,site,username,password,proxy,tags\na1,demo,u1,pw-1,,\n"


def run(data_dir: Path, *args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FLEETBOT, *args],
        capture_output=True,
        text=True,
        env=cli_env(data_dir),
        umask=umask,
        timeout=120,
        check=False,
    )


def loose(data_dir: Path) -> dict[str, str]:
    """Every path under data_dir (and itself) that group or others may access."""
    found = {}
    for path in [data_dir, *data_dir.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found[str(path.relative_to(data_dir))] = f"{mode:04o}"
    return found


def test_an_existing_open_data_dir_gets_only_private_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)  # as `mkdir data` leaves it under the usual umask
    csv = tmp_path / "accounts.csv"
    csv.write_text(CSV, encoding="utf-8")
    result = run(data_dir, "accounts", "import", str(csv), umask=0)
    assert result.returncode == 0, result.stderr
    names = {p.name for p in data_dir.iterdir()}
    assert {"fleetbot.sqlite3", "secret.key", "videos", "artifacts"} <= names
    assert loose(data_dir) == {}


def test_looser_modes_left_behind_are_repaired_and_logged(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert run(data_dir, "accounts", "list").returncode == 0
    shot = data_dir / "artifacts" / "run-1" / "item-1.png"
    shot.parent.mkdir()
    shot.write_bytes(b"\x89PNG")
    for path, mode in [
        (data_dir, 0o755),
        (data_dir / "fleetbot.sqlite3", 0o644),
        (shot.parent, 0o775),
        (shot, 0o664),
    ]:
        path.chmod(mode)
    result = run(data_dir, "accounts", "list")
    assert result.returncode == 0, result.stderr
    assert "made private (0600/0700)" in result.stderr
    assert "4 file(s) or folder(s)" in result.stderr
    assert loose(data_dir) == {}
    assert stat.S_IMODE(shot.stat().st_mode) == 0o600


def test_a_key_file_others_can_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert run(data_dir, "accounts", "list").returncode == 0
    key = data_dir / "secret.key"
    key.chmod(0o644)
    result = run(data_dir, "accounts", "list")
    assert result.returncode == 1
    assert f"chmod 600 {key}" in result.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o644  # not fixed behind the operator's back
    key.chmod(0o600)
    assert run(data_dir, "accounts", "list").returncode == 0
    assert os.stat(key).st_uid == os.geteuid()

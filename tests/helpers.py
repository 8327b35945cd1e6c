"""Running the real ``fleetbot`` console script in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FLEETBOT = [sys.executable, "-m", "cli"]


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETBOT_")}
    env["FLEETBOT_STORAGE__DATA_DIR"] = str(data_dir)
    env["FLEETBOT_CONFIG"] = str(Path(__file__).resolve().parent.parent / "config.toml")
    env.update(extra)
    return env


def fleetbot(
    *args: str, data_dir: Path, stdin: str | None = None, timeout: float = 120, **env: str
) -> Result:
    proc = subprocess.run(
        [*FLEETBOT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=cli_env(data_dir, **env),
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def grep_tree(root: Path, needles: list[str]) -> list[tuple[Path, str]]:
    """Every (file, needle) where a needle appears in plain bytes under root."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [(path, n) for n in needles if n.encode() in data]
    return found

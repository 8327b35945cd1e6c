"""Hostile and oversized files: nothing lands outside the data dir, nothing is read whole.

File names from Telegram are attacker-controlled; sizes from Telegram are optional; a
file's extension says nothing about its content. These tests send such files through
the real bot process and the real CLI and check what reaches the disk and the memory.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

from automation.sites.demo.samples import sample_video_bytes
from tests.e2e.conftest import ADMIN, Fleet, eventually
from tests.helpers import FLEETBOT, cli_env

BIG = 50 * 2**20
MB = 2**20
HOSTILE_NAMES = (
    "../../../escape-dotdot.mp4",
    "{outside}/escape-absolute.mp4",
    "escape-nul\x00.mp4",
    "escape-" + "E" * 10_000 + ".mp4",
)
DATA_DIR_FILES = re.compile(
    r"fleetbot\.sqlite3(-wal|-shm|-journal)?|secret\.key|scheduler\.lock"
    r"|videos/[0-9a-f]{64}\.(mp4|webm)"
)


def texts(fleet: Fleet) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in fleet.api.sent(ADMIN)]


async def replies(fleet: Fleet, contains: str, count: int, within: float = 60) -> None:
    """Wait until the bot has sent count messages containing a text."""

    async def enough() -> bool:
        return sum(contains in text for text in texts(fleet)) >= count

    await eventually(enough, within=within)


def peak_rss_kb(pid: int) -> int:
    """The high-water mark of a live process's resident memory (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert match is not None
    return int(match.group(1))


async def test_hostile_file_names_never_leave_the_data_dir(fleet: Fleet, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    names = [name.format(outside=outside) for name in HOSTILE_NAMES]
    await fleet.serve()
    for k, name in enumerate(names, 1):
        video = (sample_video_bytes(k), name, "video/mp4")
        fleet.api.inject_message(ADMIN, None, caption="/queue", video=video)
        csv = f"label,site,username,password,proxy,tags\nacct{k},demo,u{k},,,\n".encode()
        fleet.api.inject_message(ADMIN, None, caption="/import", document=(csv, name, "text/csv"))
        fleet.api.inject_message(ADMIN, None, document=(b"hello", name, "text/plain"))
    await replies(fleet, "Imported 1 accounts", len(names))
    await replies(fleet, "queued at position", len(names))
    await replies(fleet, "with the caption /import", len(names))
    cookies = b"example.com\tFALSE\t/\tFALSE\t0\tsid\tv\n"
    for name in names:
        fleet.api.inject_message(
            ADMIN, None, caption="/session acct1", document=(cookies, name, "text/plain")
        )
    await replies(fleet, "Session of acct1 set", len(names))

    assert "Traceback" not in fleet.log_text()
    assert list(outside.iterdir()) == []
    assert await asyncio.to_thread(stray_files, fleet.data_dir) == []
    assert len(list((fleet.data_dir / "videos").iterdir())) == len(names)
    assert await asyncio.to_thread(escaped, tmp_path) == []


def stray_files(data_dir: Path) -> list[str]:
    """Files in the data dir other than the database, the key, the lock and stored videos."""
    relative = [str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file()]
    return [name for name in relative if not DATA_DIR_FILES.fullmatch(name)]


def escaped(tmp_path: Path) -> list[Path]:
    """Files named after a hostile name: under tmp_path, or beside any folder above it."""
    found = list(tmp_path.rglob("escape*"))
    for folder in {*tmp_path.parents, *Path.cwd().parents, Path.cwd()}:
        found += [p for p in folder.iterdir() if p.name.startswith("escape")]
    return found


async def test_bot_refuses_big_documents_and_fake_videos_without_reading_them(
    fleet: Fleet,
) -> None:
    serve = await fleet.serve()
    fleet.api.inject_message(ADMIN, "/videos")  # warm up the handlers before measuring
    await replies(fleet, "upload queue is empty", 1)
    baseline_kb = peak_rss_kb(serve.pid)

    # A size Telegram declares over the limit: refused before anything is fetched.
    declared = fleet.api.inject_message(
        ADMIN, None, caption="/import", document=(b"label\n", "a.csv", "text/csv")
    )
    declared["document"]["file_size"] = BIG  # read by the bot's next getUpdates
    video = fleet.api.inject_message(
        ADMIN, None, caption="/queue", video=(b"x", "big.mp4", "video/mp4")
    )
    video["video"]["file_size"] = BIG
    await replies(fleet, "accepted up to 5 MB", 1)
    await replies(fleet, "downloads at most 20 MB", 1)
    fetched = {c.params.get("file_id") for c in fleet.api.calls if c.method == "getFile"}
    assert not fetched & {declared["document"]["file_id"], video["video"]["file_id"]}

    # No size at all: the download itself must stop at the limit.
    silent = fleet.api.inject_message(
        ADMIN, None, caption="/import", document=(b"a" * BIG, "big.csv", "text/csv")
    )
    del silent["document"]["file_size"]
    await replies(fleet, "accepted up to 5 MB", 2)
    grown_mb = (peak_rss_kb(serve.pid) - baseline_kb) / 1024
    assert grown_mb < 20, f"the bot's peak memory grew by {grown_mb:.0f} MB"

    # Not a video, whatever its name and MIME type say.
    fake = b"<html>" + b"not a video " * 10_000
    fleet.api.inject_message(ADMIN, None, caption="/queue", video=(fake, "clip.mp4", "video/mp4"))
    await replies(fleet, "is not an MP4 or WebM video", 1)
    assert list((fleet.data_dir / "videos").iterdir()) == []
    assert list((fleet.data_dir / "incoming").iterdir()) == []
    assert "Traceback" not in fleet.log_text()


def run_measured(args: list[str], data_dir: Path, log: Path) -> tuple[int, str, int]:
    """Run the CLI; return its exit code, its output and its own peak RSS in kB."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*FLEETBOT, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=cli_env(data_dir),
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return proc.returncode, log.read_text(), usage.ru_maxrss


def big_file(path: Path, head: bytes = b"") -> Path:
    """A 50 MB file: head, then a sparse tail (reading it would still cost 50 MB)."""
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(BIG)
    return path


def test_cli_refuses_big_and_fake_files_without_reading_them(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    small = tmp_path / "small.csv"
    small.write_text("label,nope\n", encoding="utf-8")
    code, output, baseline_kb = run_measured(
        ["accounts", "import", str(small)], data_dir, tmp_path / "0.log"
    )
    assert code != 0 and "line" in output.lower(), output
    header = b"label,site,username,password,proxy,tags\n"
    cases: list[tuple[list[str], str]] = [
        (["accounts", "import", str(big_file(tmp_path / "big.csv", header))], "larger than 5 MB"),
        (
            ["accounts", "set-session", "a", str(big_file(tmp_path / "big.json", b"{"))],
            "larger than 5 MB",
        ),
        (["videos", "add", str(big_file(tmp_path / "fake.mp4"))], "not an MP4 or WebM video"),
    ]
    for k, (args, expected) in enumerate(cases, 1):
        code, output, peak_kb = run_measured(args, data_dir, tmp_path / f"{k}.log")
        assert code != 0 and expected in output, output
        assert "Traceback" not in output
        grown_mb = (peak_kb - baseline_kb) / 1024
        assert grown_mb < 20, f"{args[:2]} peak memory grew by {grown_mb:.0f} MB"
    assert list((data_dir / "videos").iterdir()) == []


def test_fresh_data_dir_and_key_file_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    proc = subprocess.run(
        [*FLEETBOT, "accounts", "list"],
        capture_output=True,
        text=True,
        env=cli_env(data_dir),
        umask=0,  # the modes must not depend on a careful umask
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    modes: dict[str, Any] = {
        name: stat.S_IMODE((data_dir / name).stat().st_mode)
        for name in (".", "videos", "artifacts", "secret.key")
    }
    assert modes == {".": 0o700, "videos": 0o700, "artifacts": 0o700, "secret.key": 0o600}

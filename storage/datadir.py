"""The data dir is its user's alone: directories 0700, files 0600, whatever the umask.

It holds the database, the key file, videos, screenshots and traces. ``prepare`` creates
what is missing with private modes and tightens looser modes left by an older version, a
copy or a careless ``mkdir``, and reports what it changed so the caller can log it. The key
file is never repaired silently: a key others could read may have been copied, so opening
refuses it (``storage.crypto.read_key_file``) until the operator fixes it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

SUBDIRS = ("videos", "artifacts", "questions")
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
KEY_FILE = "secret.key"


def prepare(data_dir: Path, sqlite_path: Path | None) -> list[Path]:
    """Create the data dir and its subdirectories privately; return what was tightened."""
    data_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    for sub in SUBDIRS:
        (data_dir / sub).mkdir(mode=PRIVATE_DIR, exist_ok=True)
    if sqlite_path is not None:
        # SQLite gives its -wal and -shm files the database file's mode: create it 0600.
        _create_private(sqlite_path)
    return tighten(data_dir)


def tighten(data_dir: Path) -> list[Path]:
    """Remove group and other access from everything of this user under data_dir."""
    changed = []
    uid = os.geteuid()
    for root, dirs, files in os.walk(data_dir):
        here = Path(root)
        for path, private in [(here, PRIVATE_DIR)] + [(here / f, PRIVATE_FILE) for f in files]:
            if path.name == KEY_FILE and path.parent == data_dir:
                continue
            try:
                info = path.lstat()
            except FileNotFoundError:  # removed meanwhile (a finished download, a prune)
                continue
            if stat.S_ISLNK(info.st_mode) or info.st_uid != uid or not info.st_mode & 0o077:
                continue
            path.chmod(stat.S_IMODE(info.st_mode) & private)
            changed.append(path)
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
    return changed


def is_private(path: Path) -> bool:
    """Whether neither group nor others have any access to path."""
    return not path.stat().st_mode & 0o077


def _create_private(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(fd)

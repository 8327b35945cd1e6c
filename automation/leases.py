"""Who holds an item or an account, and whether that holder is still alive.

A lease owner is ``host:pid:start_ms:token``. On the same host a holder whose process is
gone (or whose pid now belongs to a younger process) is dead at once; holders on other
hosts are trusted until their lease time runs out.
"""

from __future__ import annotations

import os
import secrets
import socket

import psutil

_HOST = socket.gethostname()


def new_owner() -> str:
    """A lease owner id for one runner in this process."""
    started = int(psutil.Process(os.getpid()).create_time() * 1000)
    return f"{_HOST}:{os.getpid()}:{started}:{secrets.token_hex(4)}"


def owner_is_dead(owner: str, me: str) -> bool:
    """True when owner is provably not running any more (checked on this host only)."""
    parts = owner.split(":")
    if owner == me or len(parts) != 4 or parts[0] != _HOST:
        return False
    try:
        pid, started = int(parts[1]), int(parts[2])
    except ValueError:
        return False
    if pid == os.getpid():
        return True  # an earlier runner of this same process, which has stopped
    try:
        return int(psutil.Process(pid).create_time() * 1000) != started
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return True
    except psutil.Error:
        return False

"""Failure artifacts on disk: screenshots in the clear, Playwright traces sealed.

A trace records what the browser did: typed values (a password's ``fill``), request bodies
and headers (cookies, ``Proxy-Authorization``). So a trace is never kept readable: the
moment Playwright has written it (inside the 0700 artifacts folder, out of other users'
reach), it is encrypted with the database's secret key into ``*.trace.zip.enc`` (0600) and
the plain file is removed. ``fleetbot runs trace ITEM`` decrypts one on purpose.
"""

from __future__ import annotations

import os
from pathlib import Path

from storage.crypto import SecretBox

SEALED_SUFFIX = ".enc"


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, whatever the umask; replaces an old one."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)


def seal(plain: Path, secrets: SecretBox) -> Path:
    """Encrypt ``plain`` into ``plain.enc`` (0600) and delete ``plain``; blocking I/O."""
    sealed = plain.with_name(plain.name + SEALED_SUFFIX)
    try:
        write_private(sealed, secrets.encrypt_bytes(plain.read_bytes()))
    finally:
        plain.unlink(missing_ok=True)
    return sealed


def unseal(sealed: Path, secrets: SecretBox, out: Path) -> None:
    """Decrypt a sealed artifact into ``out`` (0600); blocking I/O."""
    write_private(out, secrets.decrypt_bytes(sealed.read_bytes()))

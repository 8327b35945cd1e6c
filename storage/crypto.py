"""Encryption at rest for passwords and session state (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from ``FLEETBOT_SECRET_KEY`` (any string of at least 32 characters; it is
hashed into a Fernet key) or from ``<data_dir>/secret.key``, created with mode 0600 on
first use. A database remembers a check value encrypted with its key, so a wrong or
missing key is caught when the database opens, not when a secret is first needed.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from storage.errors import StorageError

KEY_FILE = "secret.key"
MIN_ENV_KEY_LEN = 32
_CHECK_PLAINTEXT = "fleetbot-secret-check-v1"


class SecretKeyError(StorageError):
    """The secret key is missing, malformed or not the one the data was encrypted with."""


class SecretBox:
    """Encrypts and decrypts short secrets with one key."""

    def __init__(self, key: bytes, source: str) -> None:
        self._fernet = Fernet(key)
        self.source = source

    def __repr__(self) -> str:
        return f"SecretBox(source={self.source!r})"

    def encrypt(self, plaintext: str) -> str:
        """Encrypt a string; the result is ASCII and safe to store."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt what encrypt() produced; raise SecretKeyError if the key does not fit."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError, UnicodeError):
            raise SecretKeyError(
                f"stored secret cannot be decrypted with the secret key from {self.source}: "
                "the key is not the one this data was encrypted with"
            ) from None

    def encrypt_bytes(self, data: bytes) -> bytes:
        """Encrypt a blob (a Playwright trace); the result is ASCII bytes."""
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        """Decrypt what encrypt_bytes() produced; SecretKeyError if the key does not fit."""
        try:
            return self._fernet.decrypt(token)
        except (InvalidToken, ValueError):
            raise SecretKeyError(
                f"file cannot be decrypted with the secret key from {self.source}"
            ) from None

    def make_check(self) -> str:
        """A value to store so a later open can tell whether the key still fits."""
        return self.encrypt(_CHECK_PLAINTEXT)

    def verify_check(self, check: str) -> None:
        """Raise SecretKeyError unless check was made with this key."""
        try:
            ok = self.decrypt(check) == _CHECK_PLAINTEXT
        except SecretKeyError:
            ok = False
        if not ok:
            raise SecretKeyError(
                f"the secret key from {self.source} is not the one this database was "
                "encrypted with; set FLEETBOT_SECRET_KEY or restore the original "
                f"{KEY_FILE} in the data dir"
            )


def key_from_env(value: str) -> bytes:
    """Turn FLEETBOT_SECRET_KEY into a Fernet key."""
    if len(value) < MIN_ENV_KEY_LEN:
        raise SecretKeyError(
            f"FLEETBOT_SECRET_KEY must be at least {MIN_ENV_KEY_LEN} characters "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode("utf-8")).digest())


def read_key_file(data_dir: Path) -> bytes | None:
    """The key stored in the data dir, or None if there is none yet."""
    path = data_dir / KEY_FILE
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        return None
    try:
        Fernet(key)
    except ValueError:
        raise SecretKeyError(f"{path} does not hold a valid key") from None
    return key


def create_key_file(data_dir: Path) -> bytes:
    """Create the data dir's key file with mode 0600; fail if one appeared meanwhile."""
    key = Fernet.generate_key()
    path = data_dir / KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key

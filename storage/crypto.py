"""Encryption at rest for passwords and session state (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from ``<data_dir>/secret.key`` (a random key, created with mode 0600 on first
use) or from ``FLEETBOT_SECRET_KEY``, a passphrase of at least 32 characters stretched with
scrypt and a random salt stored in the database, so that guessing it costs a memory-hard
derivation per guess. A database remembers a check value encrypted with its key, so a
wrong or missing key is caught when the database opens, not when a secret is first needed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
from dataclasses import dataclass
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


# scrypt's cost: 32 MiB, and 117-320 ms per derivation measured on a shared 2-core machine.
# Stored with each database, so raising it later leaves existing databases readable.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16


@dataclass(frozen=True)
class KdfParams:
    """How a database turns FLEETBOT_SECRET_KEY into its key: scrypt with these values."""

    salt: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    @classmethod
    def new(cls) -> KdfParams:
        """Fresh parameters with a random salt, for a database that has none yet."""
        return cls(salt=secrets.token_bytes(SALT_BYTES))

    def to_json(self) -> str:
        """The form stored in the database's settings."""
        salt = base64.b64encode(self.salt).decode("ascii")
        return json.dumps({"kdf": "scrypt", "salt": salt, "n": self.n, "r": self.r, "p": self.p})

    @classmethod
    def from_json(cls, text: str) -> KdfParams:
        """Read what to_json() stored; a value fleetbot did not write is an error."""
        try:
            doc = json.loads(text)
            if doc["kdf"] != "scrypt":
                raise ValueError(doc["kdf"])
            return cls(base64.b64decode(doc["salt"]), int(doc["n"]), int(doc["r"]), int(doc["p"]))
        except (ValueError, KeyError, TypeError):
            raise SecretKeyError("the database's key derivation settings are damaged") from None


def check_env_key(value: str) -> None:
    """Refuse a FLEETBOT_SECRET_KEY too short to be worth stretching."""
    if len(value) < MIN_ENV_KEY_LEN:
        raise SecretKeyError(
            f"FLEETBOT_SECRET_KEY must be at least {MIN_ENV_KEY_LEN} characters "
            "(`fleetbot secret-key new` prints a random one)"
        )


def derive_key(value: str, params: KdfParams) -> bytes:
    """Turn FLEETBOT_SECRET_KEY into a Fernet key with scrypt; slow on purpose (a thread)."""
    check_env_key(value)
    raw = hashlib.scrypt(
        value.encode("utf-8"),
        salt=params.salt,
        n=params.n,
        r=params.r,
        p=params.p,
        maxmem=256 * params.n * params.r + 2**20,  # scrypt needs 128*n*r bytes, and a margin
        dklen=32,
    )
    return base64.urlsafe_b64encode(raw)


def legacy_key(value: str) -> bytes:
    """The unsalted SHA-256 key older databases used; read only to migrate them to scrypt."""
    check_env_key(value)
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode("utf-8")).digest())


def new_random_key() -> str:
    """A FLEETBOT_SECRET_KEY of full strength (256 random bits)."""
    return secrets.token_urlsafe(32)


def read_key_file(data_dir: Path) -> bytes | None:
    """The key stored in the data dir, or None if there is none yet."""
    path = data_dir / KEY_FILE
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        key = path.read_bytes().strip()
    except FileNotFoundError:
        return None
    if mode & 0o077:
        raise SecretKeyError(
            f"{path} can be read by other users (mode {mode:04o}), so it may have been "
            f"copied: fix it with `chmod 600 {path}`, and if someone else could have read "
            "it, treat the stored passwords and sessions as exposed"
        )
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

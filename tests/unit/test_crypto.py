import os
import stat
from pathlib import Path

import pytest

from storage.crypto import (
    SecretBox,
    SecretKeyError,
    create_key_file,
    legacy_key,
    read_key_file,
)


def test_round_trip_and_ciphertext_hides_plaintext(tmp_path: Path) -> None:
    box = SecretBox(create_key_file(tmp_path), "test")
    token = box.encrypt("pw-demo1 ünïcode")
    assert "pw-demo1" not in token
    assert box.decrypt(token) == "pw-demo1 ünïcode"
    assert box.encrypt("same") != box.encrypt("same")  # random IV per value


def test_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    key = create_key_file(tmp_path)
    mode = stat.S_IMODE(os.stat(tmp_path / "secret.key").st_mode)
    assert mode == 0o600
    assert read_key_file(tmp_path) == key
    with pytest.raises(FileExistsError):
        create_key_file(tmp_path)


def test_wrong_key_is_an_error_not_garbage(tmp_path: Path) -> None:
    right = SecretBox(legacy_key("a" * 40), "env")
    wrong = SecretBox(legacy_key("b" * 40), "env")
    token = right.encrypt("pw")
    with pytest.raises(SecretKeyError, match="not the one this data was encrypted with"):
        wrong.decrypt(token)
    with pytest.raises(SecretKeyError, match="not the one this database"):
        wrong.verify_check(right.make_check())
    right.verify_check(right.make_check())


def test_short_env_key_and_corrupt_key_file(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match="at least 32 characters"):
        legacy_key("short")
    (tmp_path / "secret.key").write_text("not a key")
    (tmp_path / "secret.key").chmod(0o600)
    with pytest.raises(SecretKeyError, match="does not hold a valid key"):
        read_key_file(tmp_path)

"""FLEETBOT_SECRET_KEY is stretched with scrypt and a per-database salt; old databases migrate.

An attacker holding a copy of the database knows the key check's plaintext: each guess
at the passphrase must cost a memory-hard derivation with that database's salt, not one
SHA-256.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from automation.accounts import AccountRow, AccountService, ProxySpec
from storage.config import StorageConfig
from storage.crypto import KdfParams, SecretBox, SecretKeyError, derive_key, legacy_key
from storage.db import Database
from storage.keyring import SECRET_CHECK, SECRET_KDF
from storage.models import (
    Account,
    AskedQuestion,
    Proxy,
    QuestionStatus,
    Run,
    RunItem,
    RunKind,
    Setting,
    Trigger,
)
from tests.helpers import fleetbot

PASSPHRASE = "correct horse battery staple and more"
MIN_GUESS_S = 0.02  # a guess of today's SHA-256 costs about a microsecond


async def stored(key: str) -> str:
    return (await Setting.get(key=key)).value


async def test_a_guess_at_the_env_key_costs_a_salted_memory_hard_derivation(
    tmp_path: Path,
) -> None:
    checks, salts = [], []
    for name in ("a", "b"):
        async with Database(StorageConfig(data_dir=tmp_path / name), secret_key=PASSPHRASE):
            checks.append(await stored(SECRET_CHECK))
            params = KdfParams.from_json(await stored(SECRET_KDF))
            salts.append(params.salt)
    # The old derivation, right passphrase: opens nothing any more.
    with pytest.raises(SecretKeyError):
        SecretBox(legacy_key(PASSPHRASE), "guess").verify_check(checks[0])
    # The same passphrase makes another key in another database: no precomputed table.
    assert salts[0] != salts[1]
    key_a = derive_key(PASSPHRASE, KdfParams(salts[0], params.n, params.r, params.p))
    SecretBox(key_a, "guess").verify_check(checks[0])
    with pytest.raises(SecretKeyError):
        SecretBox(key_a, "guess").verify_check(checks[1])
    assert params.n * params.r * 128 >= 16 * 2**20  # memory-hard: 16 MiB or more per guess
    started = time.perf_counter()
    for _ in range(3):
        derive_key(PASSPHRASE + "x", params)
    per_guess = (time.perf_counter() - started) / 3
    assert per_guess >= MIN_GUESS_S, f"a guess costs only {per_guess * 1000:.1f} ms"


async def make_legacy_database(data_dir: Path) -> None:
    """A database as the SHA-256 derivation left it: secrets and check under legacy_key."""
    async with Database(StorageConfig(data_dir=data_dir), secret_key=PASSPHRASE):
        old = SecretBox(legacy_key(PASSPHRASE), "old")
        await Setting.filter(key=SECRET_KDF).delete()
        await Setting.filter(key=SECRET_CHECK).update(value=old.make_check())
        proxy = ProxySpec("http", "127.0.0.1", 3128, "pu", "proxy-pw")
        await AccountService(old).import_rows(
            [AccountRow("a1", "demo", "u1", "pw-1", proxy), AccountRow("a2", "demo", "u2")]
        )
        await AccountService(old).set_session("a2", {"cookies": [], "origins": [], "x": 1})
        trace = data_dir / "artifacts" / "item-1.trace.zip.enc"
        trace.write_bytes(old.encrypt_bytes(b"PK trace of a login"))
        run = await Run.create(kind=RunKind.WARMUP, trigger=Trigger.CLI)
        account = await Account.get(label="a1")
        item = await RunItem.create(run=run, account=account, trace_path=str(trace))
        await AskedQuestion.create(
            item=item,
            run=run,
            chat_id=1,
            account="a1",
            prompt="code?",
            screenshot_enc=old.encrypt_bytes(b"PNG page").decode("ascii"),
            answer_enc=old.encrypt("123456"),
            status=QuestionStatus.ANSWERED,
        )


async def test_a_database_of_the_old_derivation_migrates_on_first_open(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    await make_legacy_database(data_dir)
    config = StorageConfig(data_dir=data_dir)
    with pytest.raises(SecretKeyError):  # a wrong key changes nothing
        async with Database(config, secret_key="w" * 40):
            pass
    for _ in range(2):  # the migration, then an ordinary open
        async with Database(config, secret_key=PASSPHRASE) as db:
            a1 = await Account.get(label="a1")
            a2 = await Account.get(label="a2")
            proxy = await Proxy.get(server="http://127.0.0.1:3128")
            assert a1.password_enc is not None and proxy.password_enc is not None
            assert a2.session_state_enc is not None
            assert db.secrets.decrypt(a1.password_enc) == "pw-1"
            assert db.secrets.decrypt(proxy.password_enc) == "proxy-pw"
            assert '"x": 1' in db.secrets.decrypt(a2.session_state_enc)
            trace = data_dir / "artifacts" / "item-1.trace.zip.enc"
            assert db.secrets.decrypt_bytes(trace.read_bytes()) == b"PK trace of a login"
            question = await AskedQuestion.get(account="a1")
            assert question.answer_enc is not None and question.screenshot_enc is not None
            assert db.secrets.decrypt(question.answer_enc) == "123456"
            assert db.secrets.decrypt_bytes(question.screenshot_enc.encode()) == b"PNG page"
            old = SecretBox(legacy_key(PASSPHRASE), "old")
            with pytest.raises(SecretKeyError):
                old.decrypt(a1.password_enc)
            assert await Setting.exists(key=SECRET_KDF)


def test_secret_key_new_prints_a_full_strength_key(tmp_path: Path) -> None:
    first = fleetbot("secret-key", "new", data_dir=tmp_path / "data")
    second = fleetbot("secret-key", "new", data_dir=tmp_path / "data")
    assert first.code == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 43 and key != second.stdout.strip()
    assert not (tmp_path / "data").exists()  # it opens nothing
    listed = fleetbot("accounts", "list", data_dir=tmp_path / "data", FLEETBOT_SECRET_KEY=key)
    assert listed.code == 0, listed.stderr

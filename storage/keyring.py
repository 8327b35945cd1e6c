"""Unlock a database's secrets: find its key, check it, and migrate an old derivation.

The key is the data dir's ``secret.key`` or ``FLEETBOT_SECRET_KEY`` stretched with scrypt
(``storage.crypto``). A database whose secrets were encrypted under the old unsalted
SHA-256 of ``FLEETBOT_SECRET_KEY`` is re-encrypted under the scrypt key on its first open
with that key, in one transaction (sealed trace files too): every secret is kept, and
afterwards the old key opens nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from storage.crypto import (
    KEY_FILE,
    KdfParams,
    SecretBox,
    SecretKeyError,
    check_env_key,
    create_key_file,
    derive_key,
    legacy_key,
    read_key_file,
)
from storage.models import Account, AskedQuestion, Proxy, RunItem, Setting

log = logging.getLogger(__name__)

SECRET_CHECK = "secret_check"
SECRET_KDF = "secret_kdf"
ENV_SOURCE = "FLEETBOT_SECRET_KEY"


async def unlock(data_dir: Path, secret_key: str | None) -> SecretBox:
    """The box for this database's secrets; raise SecretKeyError if the key does not fit."""
    if secret_key:
        return await _from_env(secret_key)
    return await _from_key_file(data_dir)


async def _from_key_file(data_dir: Path) -> SecretBox:
    check = await Setting.get_or_none(key=SECRET_CHECK)
    key = await asyncio.to_thread(read_key_file, data_dir)
    if key is None and check is not None:
        raise SecretKeyError(
            "this database holds encrypted secrets but no key was found: set "
            f"{ENV_SOURCE} or restore {data_dir / KEY_FILE}"
        )
    if key is None:
        key = await asyncio.to_thread(create_key_file, data_dir)
    box = SecretBox(key, str(data_dir / KEY_FILE))
    if check is None:
        await Setting.create(key=SECRET_CHECK, value=box.make_check())
    else:
        box.verify_check(check.value)
    return box


async def _from_env(secret_key: str) -> SecretBox:
    check_env_key(secret_key)
    stored = await Setting.get_or_none(key=SECRET_KDF)
    if stored is not None:
        return await _open_env(secret_key, KdfParams.from_json(stored.value))
    params = KdfParams.new()
    box = SecretBox(await asyncio.to_thread(derive_key, secret_key, params), ENV_SOURCE)
    try:
        async with in_transaction():
            # Claimed first: a second process opening the same database at the same moment
            # fails here and opens with the parameters this one stores.
            await Setting.create(key=SECRET_KDF, value=params.to_json())
            check = await Setting.get_or_none(key=SECRET_CHECK)
            if check is None:
                await Setting.create(key=SECRET_CHECK, value=box.make_check())
            else:
                old = SecretBox(legacy_key(secret_key), ENV_SOURCE)
                old.verify_check(check.value)
                count = await _reencrypt(old, box)
                check.value = box.make_check()
                await check.save(update_fields=["value"])
                log.warning(
                    "migrated %d secrets from the old unsalted key derivation to scrypt; "
                    "backups made before now still open with the same %s",
                    count,
                    ENV_SOURCE,
                )
    except IntegrityError:
        stored = await Setting.get(key=SECRET_KDF)
        return await _open_env(secret_key, KdfParams.from_json(stored.value))
    return box


async def _open_env(secret_key: str, params: KdfParams) -> SecretBox:
    box = SecretBox(await asyncio.to_thread(derive_key, secret_key, params), ENV_SOURCE)
    check = await Setting.get_or_none(key=SECRET_CHECK)
    if check is None:
        raise SecretKeyError("the database's key check is missing: it cannot be verified")
    box.verify_check(check.value)
    return box


async def _reencrypt(old: SecretBox, new: SecretBox) -> int:
    """Re-encrypt every stored secret from old to new; returns how many."""
    count = 0
    for account in await Account.all():
        changed = []
        for name in ("password_enc", "session_state_enc"):
            token = getattr(account, name)
            if token is not None:
                setattr(account, name, new.encrypt(old.decrypt(token)))
                changed.append(name)
        if changed:
            await account.save(update_fields=changed)
            count += len(changed)
    for proxy in await Proxy.filter(password_enc__not_isnull=True):
        assert proxy.password_enc is not None
        proxy.password_enc = new.encrypt(old.decrypt(proxy.password_enc))
        await proxy.save(update_fields=["password_enc"])
        count += 1
    for question in await AskedQuestion.filter(
        Q(answer_enc__not_isnull=True) | Q(screenshot_enc__not_isnull=True)
    ):
        if question.answer_enc is not None:
            question.answer_enc = new.encrypt(old.decrypt(question.answer_enc))
        if question.screenshot_enc is not None:
            shot = old.decrypt_bytes(question.screenshot_enc.encode("ascii"))
            question.screenshot_enc = new.encrypt_bytes(shot).decode("ascii")
        await question.save(update_fields=["answer_enc", "screenshot_enc"])
        count += 1
    traces = await RunItem.filter(trace_path__endswith=".enc").values_list("trace_path", flat=True)
    for trace in traces:
        count += await asyncio.to_thread(_reseal, Path(str(trace)), old, new)
    return count


def _reseal(path: Path, old: SecretBox, new: SecretBox) -> int:
    """Re-encrypt one sealed trace file in place; 0 if it is gone (pruned)."""
    try:
        sealed = new.encrypt_bytes(old.decrypt_bytes(path.read_bytes()))
    except FileNotFoundError:
        return 0
    tmp = path.with_name(f".{path.name}.rekey")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(sealed)
    tmp.replace(path)
    return 1

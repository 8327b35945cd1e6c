"""The one writer of outbox rows: every message owed to a chat is queued here.

One dedupe rule for all of them: a row with a ``dedupe_key`` is owed once, whoever writes
it and however often (a restart, a repeated fire, two processes at once); a row without a
key is always written. The key is unique in the database, so the rule holds under
concurrency: a second insert fails on the constraint and is taken as "already owed".
Keys are cut to the column's length here, so callers may build them freely.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from storage.models import Notification

DEDUPE_KEY_LENGTH = 128  # Notification.dedupe_key's column


async def enqueue(
    chat_id: int,
    kind: str,
    text: str = "",
    *,
    payload: dict[str, Any] | None = None,
    run_id: int | None = None,
    dedupe_key: str | None = None,
) -> bool:
    """Owe a chat a message; returns False when its dedupe_key was already owed."""
    key = dedupe_key[:DEDUPE_KEY_LENGTH] if dedupe_key is not None else None
    try:
        # A savepoint inside a caller's transaction (settle writes the summary with the
        # run's final status): a refused insert must not abort the caller's transaction.
        async with in_transaction():
            await Notification.create(
                chat_id=chat_id,
                kind=kind,
                text=text,
                payload=payload or {},
                run_id=run_id,
                dedupe_key=key,
            )
    except IntegrityError:
        if key is not None and await Notification.exists(dedupe_key=key):
            return False
        raise
    return True


__all__ = ["DEDUPE_KEY_LENGTH", "enqueue"]

"""The database schema: every fact about the fleet and its runs lives in these tables.

Secrets are stored only as ciphertext (``*_enc`` columns, see ``storage.crypto``).
Statuses are ``StrEnum`` values so they read the same in SQL, JSON and Python.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Health(StrEnum):
    """Whether an account can be used unattended."""

    OK = "ok"
    NEEDS_LOGIN = "needs_login"
    NEEDS_ATTENTION = "needs_attention"
    DISABLED = "disabled"


class RunKind(StrEnum):
    """What a run does on each account."""

    WARMUP = "warmup"
    UPLOAD = "upload"


class Trigger(StrEnum):
    """Who started a run."""

    MANUAL = "manual"
    SCHEDULE = "schedule"
    CLI = "cli"


class RunStatus(StrEnum):
    """A run's state; final states are derived from its items."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def is_final(self) -> bool:
        """True once the run will not change again (unless resumed)."""
        return self in _FINAL_RUN

    @classmethod
    def claimable(cls) -> tuple[RunStatus, ...]:
        """Runs whose pending items a runner may claim."""
        return (cls.QUEUED, cls.RUNNING)

    @classmethod
    def open(cls) -> tuple[RunStatus, ...]:
        """Runs not finished: claimable, or interrupted and waiting for `runs resume`."""
        return (cls.QUEUED, cls.RUNNING, cls.INTERRUPTED)


_FINAL_RUN = frozenset(
    {RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.CANCELLED}
)


class ItemStatus(StrEnum):
    """One account's (and video's) state within a run."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """True once the item's outcome is recorded for good."""
        return self not in ItemStatus.open()

    @classmethod
    def open(cls) -> tuple[ItemStatus, ...]:
        """Items whose outcome is not known yet."""
        return (cls.PENDING, cls.RUNNING)


class NotificationStatus(StrEnum):
    """Where an outbox message stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class QuestionStatus(StrEnum):
    """Where a site's question to a human stands."""

    OPEN = "open"  # asked, waiting for a reply in the chat
    ANSWERED = "answered"  # a reply is stored (encrypted) for the asking runner to take
    TAKEN = "taken"  # the runner typed it into the page, the answer is cleared
    EXPIRED = "expired"  # nobody waits for it any more (timed out, replaced, item gone)


class Setting(Model):
    """Small key-value facts about this database, such as the secret-key check."""

    key = fields.CharField(max_length=64, primary_key=True)
    value = fields.TextField()

    class Meta:
        table = "setting"


class Proxy(Model):
    """An outgoing proxy (its password is encrypted)."""

    id = fields.IntField(primary_key=True)
    server = fields.CharField(max_length=255)
    username = fields.CharField(max_length=255, default="")
    password_enc = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "proxy"
        unique_together = (("server", "username"),)


class Account(Model):
    """One login on one site."""

    id = fields.IntField(primary_key=True)
    label = fields.CharField(max_length=64, unique=True)
    site = fields.CharField(max_length=64)
    username = fields.CharField(max_length=255)
    password_enc = fields.TextField(null=True)
    session_state_enc = fields.TextField(null=True)
    proxy: fields.ForeignKeyNullableRelation[Proxy] = fields.ForeignKeyField(
        "models.Proxy", related_name="accounts", null=True, on_delete=fields.SET_NULL
    )
    tags = fields.JSONField[list[str]](default=list)
    health = fields.CharEnumField(Health, max_length=32, default=Health.OK)
    last_warmup_at = fields.DatetimeField(null=True)
    failure_streak = fields.IntField(default=0)
    # A site said "too many attempts": runs skip this account until then (automation.cooldown).
    cooldown_until = fields.DatetimeField(null=True)
    # Which runner holds this account right now: one item per account at a time, across
    # every run and every runner process sharing the database.
    lease_owner = fields.CharField(max_length=128, null=True)
    lease_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    proxy_id: int | None

    class Meta:
        table = "account"


class Video(Model):
    """A media file stored under the data dir, addressed by its content hash."""

    id = fields.IntField(primary_key=True)
    sha256 = fields.CharField(max_length=64, unique=True)
    path = fields.CharField(max_length=512)
    size = fields.BigIntField()
    original_name = fields.CharField(max_length=255)
    caption = fields.TextField(default="")
    # Place in the upload queue that upload schedules post from (null: not queued).
    queue_position = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "video"


class Schedule(Model):
    """A recurring run. The database is the source of truth, APScheduler only fires it."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(RunKind, max_length=16)
    selector = fields.CharField(max_length=512, default="all")
    params = fields.JSONField[dict[str, object]](default=dict)
    expression = fields.CharField(max_length=128)
    timezone = fields.CharField(max_length=64, default="UTC")
    enabled = fields.BooleanField(default=True)
    chat_id = fields.BigIntField(null=True)
    created_by = fields.CharField(max_length=64, null=True)
    last_fired_at = fields.DatetimeField(null=True)
    # Fires due while a schedule was paused are not missed ones: count from here.
    resumed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "schedule"


class Run(Model):
    """One warmup or upload over a set of accounts."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(RunKind, max_length=16)
    trigger = fields.CharEnumField(Trigger, max_length=16)
    requested_by = fields.CharField(max_length=64, null=True)
    chat_id = fields.BigIntField(null=True)
    status = fields.CharEnumField(RunStatus, max_length=16, default=RunStatus.QUEUED)
    params = fields.JSONField[dict[str, object]](default=dict)
    schedule: fields.ForeignKeyNullableRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="runs", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    items: fields.ReverseRelation[RunItem]
    schedule_id: int | None

    class Meta:
        table = "run"


class RunItem(Model):
    """One account (plus one video for uploads) in one run. Its row is its only state."""

    id = fields.IntField(primary_key=True)
    run: fields.ForeignKeyRelation[Run] = fields.ForeignKeyField(
        "models.Run", related_name="items", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="items", on_delete=fields.CASCADE
    )
    video: fields.ForeignKeyNullableRelation[Video] = fields.ForeignKeyField(
        "models.Video", related_name="items", null=True, on_delete=fields.RESTRICT
    )
    position = fields.IntField(default=0)
    status = fields.CharEnumField(ItemStatus, max_length=16, default=ItemStatus.PENDING)
    attempts = fields.IntField(default=0)
    not_before = fields.DatetimeField(null=True)
    error_class = fields.CharField(max_length=64, null=True)
    error_message = fields.TextField(null=True)
    screenshot_path = fields.CharField(max_length=512, null=True)
    trace_path = fields.CharField(max_length=512, null=True)
    result = fields.JSONField[dict[str, object]](null=True)
    lease_owner = fields.CharField(max_length=128, null=True)
    lease_until = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    run_id: int
    account_id: int
    video_id: int | None

    class Meta:
        table = "run_item"
        unique_together = (("run", "account", "video"),)
        indexes = (("status", "not_before"), ("run_id", "status"))


class Notification(Model):
    """A message the bot owes a chat: written first, sent later, never dropped."""

    id = fields.IntField(primary_key=True)
    chat_id = fields.BigIntField()
    kind = fields.CharField(max_length=32)
    text = fields.TextField()
    payload = fields.JSONField[dict[str, object]](default=dict)
    run: fields.ForeignKeyNullableRelation[Run] = fields.ForeignKeyField(
        "models.Run", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    dedupe_key = fields.CharField(max_length=128, null=True, unique=True)
    status = fields.CharEnumField(
        NotificationStatus, max_length=16, default=NotificationStatus.PENDING
    )
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    run_id: int | None

    class Meta:
        table = "notification"
        indexes = (("status", "next_attempt_at"),)


class AskedQuestion(Model):
    """A site asked a human (a one-time code): the row both sides of the chat meet on.

    The runner that asks writes it and polls it, serve sends it and stores the reply, so
    a question raised by a worker on any machine is answered through the database. The
    page screenshot and the answer are ciphertext, cleared once they are not needed.
    """

    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[RunItem] = fields.ForeignKeyField(
        "models.RunItem", related_name="questions", on_delete=fields.CASCADE
    )
    run: fields.ForeignKeyRelation[Run] = fields.ForeignKeyField(
        "models.Run", related_name="questions", on_delete=fields.CASCADE
    )
    chat_id = fields.BigIntField()
    account = fields.CharField(max_length=64)
    prompt = fields.TextField()
    screenshot_enc = fields.TextField(null=True)
    message_id = fields.BigIntField(null=True)
    answer_enc = fields.TextField(null=True)
    status = fields.CharEnumField(QuestionStatus, max_length=16, default=QuestionStatus.OPEN)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)
    answered_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)

    item_id: int
    run_id: int

    class Meta:
        table = "question"
        indexes = (("chat_id", "message_id"), ("item_id", "status"))

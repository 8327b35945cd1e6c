from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from storage.models import Health, ItemStatus, NotificationStatus, RunKind, RunStatus, Trigger
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Proxy',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('server', fields.CharField(max_length=255)),
                ('username', fields.CharField(default='', max_length=255)),
                ('password_enc', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'proxy', 'app': 'models', 'unique_together': (('server', 'username'),), 'pk_attr': 'id', 'table_description': 'An outgoing proxy (its password is encrypted).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('label', fields.CharField(unique=True, max_length=64)),
                ('site', fields.CharField(max_length=64)),
                ('username', fields.CharField(max_length=255)),
                ('password_enc', fields.TextField(null=True, unique=False)),
                ('session_state_enc', fields.TextField(null=True, unique=False)),
                ('proxy', fields.ForeignKeyField('models.Proxy', source_field='proxy_id', null=True, db_constraint=True, to_field='id', related_name='accounts', on_delete=OnDelete.SET_NULL)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('health', fields.CharEnumField(default=Health.OK, description='OK: ok\nNEEDS_LOGIN: needs_login\nNEEDS_ATTENTION: needs_attention\nDISABLED: disabled', enum_type=Health, max_length=32)),
                ('last_warmup_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failure_streak', fields.IntField(default=0)),
                ('lease_owner', fields.CharField(null=True, max_length=128)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'account', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One login on one site.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Schedule',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='WARMUP: warmup\nUPLOAD: upload', enum_type=RunKind, max_length=16)),
                ('selector', fields.CharField(default='all', max_length=512)),
                ('params', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('expression', fields.CharField(max_length=128)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('enabled', fields.BooleanField(default=True)),
                ('chat_id', fields.BigIntField(null=True)),
                ('created_by', fields.CharField(null=True, max_length=64)),
                ('last_fired_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'schedule', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A recurring run. The database is the source of truth, APScheduler only fires it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Run',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='WARMUP: warmup\nUPLOAD: upload', enum_type=RunKind, max_length=16)),
                ('trigger', fields.CharEnumField(description='MANUAL: manual\nSCHEDULE: schedule\nCLI: cli', enum_type=Trigger, max_length=16)),
                ('requested_by', fields.CharField(null=True, max_length=64)),
                ('chat_id', fields.BigIntField(null=True)),
                ('status', fields.CharEnumField(default=RunStatus.QUEUED, description='QUEUED: queued\nRUNNING: running\nSUCCEEDED: succeeded\nPARTIAL: partial\nFAILED: failed\nCANCELLED: cancelled\nINTERRUPTED: interrupted', enum_type=RunStatus, max_length=16)),
                ('params', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('schedule', fields.ForeignKeyField('models.Schedule', source_field='schedule_id', null=True, db_constraint=True, to_field='id', related_name='runs', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'run', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One warmup or upload over a set of accounts.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_id', fields.BigIntField()),
                ('kind', fields.CharField(max_length=32)),
                ('text', fields.TextField(unique=False)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('run', fields.ForeignKeyField('models.Run', source_field='run_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('dedupe_key', fields.CharField(null=True, unique=True, max_length=128)),
                ('status', fields.CharEnumField(default=NotificationStatus.PENDING, description='PENDING: pending\nSENT: sent\nFAILED: failed', enum_type=NotificationStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'A message the bot owes a chat: written first, sent later, never dropped.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Setting',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('value', fields.TextField(unique=False)),
            ],
            options={'table': 'setting', 'app': 'models', 'pk_attr': 'key', 'table_description': 'Small key-value facts about this database, such as the secret-key check.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Video',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sha256', fields.CharField(unique=True, max_length=64)),
                ('path', fields.CharField(max_length=512)),
                ('size', fields.BigIntField()),
                ('original_name', fields.CharField(max_length=255)),
                ('caption', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'video', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A media file stored under the data dir, addressed by its content hash.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RunItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run', fields.ForeignKeyField('models.Run', source_field='run_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('video', fields.ForeignKeyField('models.Video', source_field='video_id', null=True, db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.RESTRICT)),
                ('position', fields.IntField(default=0)),
                ('status', fields.CharEnumField(default=ItemStatus.PENDING, description='PENDING: pending\nRUNNING: running\nSUCCEEDED: succeeded\nFAILED: failed\nSKIPPED: skipped\nCANCELLED: cancelled', enum_type=ItemStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('not_before', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('error_class', fields.CharField(null=True, max_length=64)),
                ('error_message', fields.TextField(null=True, unique=False)),
                ('screenshot_path', fields.CharField(null=True, max_length=512)),
                ('trace_path', fields.CharField(null=True, max_length=512)),
                ('result', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('lease_owner', fields.CharField(null=True, max_length=128)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'run_item', 'app': 'models', 'unique_together': (('run', 'account', 'video'),), 'indexes': [Index(fields=['status', 'not_before']), Index(fields=['run_id', 'status'])], 'pk_attr': 'id', 'table_description': 'One account (plus one video for uploads) in one run. Its row is its only state.'},
            bases=['Model'],
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from storage.models import QuestionStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_tiktok')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AskedQuestion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('item', fields.ForeignKeyField('models.RunItem', source_field='item_id', db_constraint=True, to_field='id', related_name='questions', on_delete=OnDelete.CASCADE)),
                ('run', fields.ForeignKeyField('models.Run', source_field='run_id', db_constraint=True, to_field='id', related_name='questions', on_delete=OnDelete.CASCADE)),
                ('chat_id', fields.BigIntField()),
                ('account', fields.CharField(max_length=64)),
                ('prompt', fields.TextField(unique=False)),
                ('screenshot_enc', fields.TextField(null=True, unique=False)),
                ('message_id', fields.BigIntField(null=True)),
                ('answer_enc', fields.TextField(null=True, unique=False)),
                ('status', fields.CharEnumField(default=QuestionStatus.OPEN, description='OPEN: open\nANSWERED: answered\nTAKEN: taken\nEXPIRED: expired', enum_type=QuestionStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'question', 'app': 'models', 'indexes': [Index(fields=['chat_id', 'message_id']), Index(fields=['item_id', 'status'])], 'pk_attr': 'id', 'table_description': 'A site asked a human (a one-time code): the row both sides of the chat meet on.'},
            bases=['Model'],
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_schedule_resumed_at')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Account',
            name='cooldown_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]

"""Fewer index entries per event: `occurred_at` is served by (occurred_at, seq), and the actor and
correlation indexes skip the jobs' events, which have neither (the expiry sweep appends 100,000)."""

from importlib import import_module

from django.db import migrations, models


def sqlite_triggers_recreate(apps, schema_editor):
    """SQLite rebuilds the table for the field changes below, which drops its append-only trigger."""
    if schema_editor.connection.vendor == "sqlite":
        for statement in import_module("audit.migrations.0002_checkpoints_append_only").SQLITE_FORWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_checkpoints_append_only'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='actor_id',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='correlation_id',
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='occurred_at',
            field=models.DateTimeField(),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(condition=models.Q(('actor_id__isnull', False)), fields=['actor_id'], name='audit_actor_idx'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(condition=models.Q(('correlation_id__isnull', False)), fields=['correlation_id'], name='audit_correlation_idx'),
        ),
        migrations.RunPython(sqlite_triggers_recreate, migrations.RunPython.noop),
    ]

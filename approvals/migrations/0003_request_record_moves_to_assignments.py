"""Decisions point at the request record under its new app; approvals no longer holds the model.

State only: the table `approvals_request` is now assignments' (see assignments 0003)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('provisioning', '0002_request_record_moves_to_assignments'),
        ('approvals', '0002_initial'),
        ('assignments', '0003_request_record_moves_here'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(database_operations=[], state_operations=[
            migrations.AlterField(
                model_name='approvaldecision',
                name='request',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='decisions', to='assignments.request'),
            ),
            migrations.DeleteModel(
                name='Request',
            ),
        ]),
    ]

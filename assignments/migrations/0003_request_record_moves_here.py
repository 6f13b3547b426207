"""The request record moves from approvals to assignments, which writes it with every transition.

State only: the table stays `approvals_request`, with its indexes, constraint and foreign keys."""

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('approvals', '0002_initial'),
        ('assignments', '0002_leaner_assignment_indexes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(database_operations=[], state_operations=[
            migrations.CreateModel(
                name='Request',
                fields=[
                    ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                    ('action', models.CharField(choices=[('admin_assign', 'Assign'), ('admin_update', 'Update'), ('admin_remove', 'Remove'), ('admin_extend', 'Extend'), ('admin_renew', 'Renew'), ('admin_make_active', 'Make active'), ('self_activate', 'Activate'), ('self_deactivate', 'Deactivate'), ('self_extend', 'Extend'), ('self_renew', 'Renew')], max_length=20)),
                    ('status', models.CharField(choices=[('pending_approval', 'Pending approval'), ('approved', 'Approved'), ('denied', 'Denied'), ('canceled', 'Canceled'), ('timed_out', 'Timed out'), ('scheduled', 'Scheduled'), ('provisioned', 'Provisioned'), ('failed', 'Failed')], max_length=20)),
                    ('kind', models.CharField(blank=True, help_text='eligible or active, for admin actions', max_length=10)),
                    ('start_at', models.DateTimeField(blank=True, null=True)),
                    ('end_at', models.DateTimeField(blank=True, null=True)),
                    ('duration_minutes', models.PositiveIntegerField(blank=True, null=True)),
                    ('justification', models.TextField(blank=True)),
                    ('ticket_system', models.CharField(blank=True, max_length=100)),
                    ('ticket_number', models.CharField(blank=True, max_length=100)),
                    ('approvals_required', models.PositiveSmallIntegerField(default=0)),
                    ('approval_deadline', models.DateTimeField(blank=True, null=True)),
                    ('client_ip', models.GenericIPAddressField(blank=True, null=True)),
                    ('status_message', models.TextField(blank=True)),
                    ('created_at', models.DateTimeField()),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('decided_at', models.DateTimeField(blank=True, null=True)),
                    ('provisioned_at', models.DateTimeField(blank=True, null=True)),
                    ('assignment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='requests', to='assignments.assignment')),
                    ('eligible_assignment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='assignments.assignment')),
                    ('principal', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='requests', to='assignments.principal')),
                    ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='pim_requests', to=settings.AUTH_USER_MODEL)),
                    ('role', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='requests', to='assignments.roledefinition')),
                    ('scope', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='requests', to='assignments.scope')),
                ],
                options={
                    'db_table': 'approvals_request',
                    'ordering': ['-created_at'],
                    'indexes': [models.Index(fields=['status', 'approval_deadline'], name='request_pending_idx'), models.Index(fields=['requested_by', 'created_at'], name='request_requester_idx'), models.Index(fields=['principal', 'created_at'], name='request_principal_idx')],
                    'constraints': [models.UniqueConstraint(condition=models.Q(('status__in', ['pending_approval', 'approved'])), fields=('eligible_assignment', 'action'), name='request_one_open_per_eligible_assignment_action')],
                },
            ),
        ]),
    ]

"""Webhook endpoints (provisioning.WebhookEndpoint) become connector targets of kind "webhook": one
target per endpoint (URL and subscribed events in its config; the signing secret stays sealed as it was:
the same ciphertext moves). Each delivery becomes an event effect of that target with its delivery id
(the X-PIM-Delivery header receivers deduplicate on), body, status, attempts and last error; the outbox
row it was waiting on moves to channel "connector" in place (its due time, attempts and claim kept), so
nothing pending is lost and nothing is sent twice. Pending rows left on the retired channel "webhook"
belonged to deleted endpoints and are closed."""

import django.db.models.deletion
from django.db import migrations, models

STATUS = {"pending": "queued", "delivered": "done", "failed": "failed"}
BATCH = 1000


def _unique_name(Target, name):
    base, n, candidate = name[:90], 1, name[:100]
    while Target.objects.filter(name=candidate).exists():
        n += 1
        candidate = f"{base} ({n})"
    return candidate


def _effect(Effect, target, delivery, request_ids):
    return Effect(
        target=target, action="event", transition=delivery.event_key[:200], event=delivery.event[:50],
        body=delivery.body, delivery_id=delivery.pk,
        request_id=delivery.correlation_id if delivery.correlation_id in request_ids else None,
        status=STATUS.get(delivery.status, "failed"), queued_at=delivery.created_at, not_before=delivery.created_at,
        attempts=delivery.attempts, last_error=delivery.last_error, last_status_code=delivery.last_status_code,
        first_error_at=delivery.last_attempt_at if delivery.last_error else None,
        last_attempt_at=delivery.last_attempt_at, applied_at=delivery.delivered_at,
        detail="moved from the webhook endpoint's deliveries", outbox_message_id=delivery.outbox_message_id)


def forwards(apps, schema_editor):
    WebhookEndpoint = apps.get_model("provisioning", "WebhookEndpoint")
    WebhookDelivery = apps.get_model("provisioning", "WebhookDelivery")
    Target = apps.get_model("connectors", "Target")
    Effect = apps.get_model("connectors", "Effect")
    Request = apps.get_model("assignments", "Request")
    OutboxMessage = apps.get_model("notifications", "OutboxMessage")
    for endpoint in WebhookEndpoint.objects.order_by("pk"):
        target = Target.objects.create(
            name=_unique_name(Target, endpoint.description or endpoint.url), kind="webhook",
            config={"url": endpoint.url, "event_types": sorted(set(endpoint.event_types or []))},
            secret_sealed=endpoint.secret_sealed, enabled=endpoint.enabled, created_by_id=endpoint.created_by_id,
            created_at=endpoint.created_at, updated_at=endpoint.updated_at)
        deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("created_at", "pk").iterator(
            chunk_size=BATCH)
        batch = []
        for delivery in deliveries:
            batch.append(delivery)
            if len(batch) >= BATCH:
                _move(Effect, Request, target, batch)
                batch = []
        _move(Effect, Request, target, batch)
    _move_outbox_rows(OutboxMessage, Effect, schema_editor.connection)
    OutboxMessage.objects.filter(channel="webhook", status="pending").update(
        status="failed", last_error="The webhook channel is retired (webhooks are connector targets); this "
                                    "delivery's endpoint had been deleted.")


def _move(Effect, Request, target, deliveries):
    if not deliveries:
        return
    asked = {d.correlation_id for d in deliveries if d.correlation_id}
    request_ids = set(Request.objects.filter(pk__in=asked).values_list("pk", flat=True)) if asked else set()
    Effect.objects.bulk_create([_effect(Effect, target, d, request_ids) for d in deliveries])


def _move_outbox_rows(OutboxMessage, Effect, connection):
    """Each delivery's outbox row now delivers its effect: same row, channel "connector"."""
    moved = Effect.objects.filter(action="event", outbox_message__channel="webhook")
    if connection.vendor == "postgresql":
        outbox = connection.ops.quote_name(OutboxMessage._meta.db_table)
        effect = connection.ops.quote_name(Effect._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {outbox} AS o SET channel = 'connector', dedupe_key = 'connector:' || e.id, "  # noqa: S608
                f"payload = jsonb_build_object('effect', e.id) FROM {effect} AS e "
                f"WHERE e.outbox_message_id = o.id AND e.action = 'event' AND o.channel = 'webhook'")
        return
    for effect_id, message_id in moved.values_list("pk", "outbox_message_id").iterator():
        OutboxMessage.objects.filter(pk=message_id).update(channel="connector", dedupe_key=f"connector:{effect_id}",
                                                          payload={"effect": effect_id})


class Migration(migrations.Migration):

    dependencies = [
        ('assignments', '0014_approval_stages'),
        ('connectors', '0002_scim_applications_become_connector_targets'),
        ('notifications', '0004_outbox_priority'),
        ('provisioning', '0003_scim_applications_move_to_connectors'),
    ]

    operations = [
        migrations.AddField(
            model_name='effect',
            name='body',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='effect',
            name='delivery_id',
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='effect',
            name='event',
            field=models.CharField(blank=True, max_length=50),
        ),
        migrations.AddField(
            model_name='effect',
            name='last_status_code',
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='effect',
            name='action',
            field=models.CharField(choices=[('grant', 'Grant'), ('revoke', 'Revoke'), ('event', 'Event delivery')], max_length=10),
        ),
        migrations.AlterField(
            model_name='effect',
            name='mapping',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='effects', to='connectors.mapping'),
        ),
        migrations.AlterField(
            model_name='effect',
            name='principal',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='assignments.principal'),
        ),
        migrations.AlterField(
            model_name='effect',
            name='transition',
            field=models.CharField(max_length=200),
        ),
        migrations.AddConstraint(
            model_name='effect',
            constraint=models.UniqueConstraint(condition=models.Q(('action', 'event')), fields=('target', 'transition'), name='connector_event_once_per_target'),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]

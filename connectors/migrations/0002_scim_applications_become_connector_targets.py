"""The former SCIM applications (provisioning.ScimApplication) become connector targets of kind "scim":
one target per application (its bearer token stays sealed as it was: the same ciphertext moves) and one
mapping "Member of <group>" → the group's display name in the application, looked up by the PIM group's
object id as externalId first, as the old path did. Operations still pending become connector effects
with their outbox rows (channel "connector"); their rows on the retired channel "scim" are closed."""

from django.db import migrations
from django.db.models import Q


def _unique_name(Target, name):
    base, n, candidate = name[:90], 1, name[:100]
    while Target.objects.filter(name=candidate).exists():
        n += 1
        candidate = f"{base} ({n})"
    return candidate


def forwards(apps, schema_editor):
    ScimApplication = apps.get_model("provisioning", "ScimApplication")
    ScimOperation = apps.get_model("provisioning", "ScimOperation")
    Target = apps.get_model("connectors", "Target")
    Mapping = apps.get_model("connectors", "Mapping")
    Effect = apps.get_model("connectors", "Effect")
    RoleDefinition = apps.get_model("assignments", "RoleDefinition")
    Scope = apps.get_model("assignments", "Scope")
    OutboxMessage = apps.get_model("notifications", "OutboxMessage")
    applications = list(ScimApplication.objects.select_related("group").order_by("pk"))
    if not applications:
        OutboxMessage.objects.filter(channel="scim", status="pending").update(
            status="failed", last_error="The SCIM channel is retired: SCIM applications are connector targets.")
        return
    member = RoleDefinition.objects.get(slug="group-member")
    for application in applications:
        scope = Scope.objects.filter(group_id=application.group_id).first()
        if scope is None:
            continue
        target = Target.objects.create(
            name=_unique_name(Target, application.name), kind="scim",
            config={"base_url": application.base_url.rstrip("/"), "timeout_seconds": 15},
            secret_sealed=application.token_sealed, enabled=application.enabled,
            created_by_id=application.created_by_id, created_at=application.created_at,
            updated_at=application.updated_at)
        mapping = Mapping.objects.create(
            target=target, role=member, scope=scope, grant=application.group.display_name[:500],
            options={"external_id": str(application.group.object_id)}, enabled=True,
            created_by_id=application.created_by_id, created_at=application.created_at)
        for operation in ScimOperation.objects.filter(application=application, status="pending").order_by("pk"):
            is_add = operation.action == "add"
            effect = Effect.objects.create(
                mapping=mapping, target=target, principal_id=operation.principal_id,
                assignment_id=operation.assignment_id, request_id=operation.request_id,
                action="grant" if is_add else "revoke", transition="started" if is_add else "ended",
                queued_at=operation.created_at, not_before=operation.not_before, attempts=operation.attempts,
                last_error=operation.last_error, detail="moved from the SCIM application's queue")
            message = OutboxMessage.objects.create(
                channel="connector", dedupe_key=f"connector:{effect.pk}", payload={"effect": effect.pk},
                available_at=operation.not_before, created_at=operation.created_at,
                correlation_id=operation.request_id, max_attempts=12 if is_add else 10_000)
            Effect.objects.filter(pk=effect.pk).update(outbox_message=message)
    OutboxMessage.objects.filter(Q(channel="scim") & Q(status="pending")).update(
        status="delivered", last_error="Moved to the connector channel (SCIM applications are connector targets).")


class Migration(migrations.Migration):

    dependencies = [
        ("connectors", "0001_connectors_targets_mappings_effects"),
        ("provisioning", "0002_request_record_moves_to_assignments"),
        ("assignments", "0008_end_reason_disabled"),
        ("notifications", "0004_outbox_priority"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

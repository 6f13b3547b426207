"""The data migration turns each former SCIM application into a connector target of kind "scim" (its
bearer token moved sealed, byte for byte) with the mapping "Member of <group>" → the group in the
application; operations still pending become connector effects with outbox rows on the "connector"
channel, and the retired "scim" channel keeps no pending row. Then the relay applies them."""

import pytest
from django.utils import timezone

from core.crypto import seal, unseal

from .migrating import latest, migrate_to

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("connectors", "0001_connectors_targets_mappings_effects"),
          ("provisioning", "0002_request_record_moves_to_assignments")]


def test_applications_become_targets_and_pending_operations_effects(directory):
    group = directory.group("Payroll admins")
    alice = directory.user("alice")
    membership = directory.add_member(group, alice, kind="active")
    token = "the-application-bearer-token"
    sealed = seal(token)
    leaves = latest()
    try:
        old = migrate_to(BEFORE)
        now = timezone.now()
        Application = old.get_model("provisioning", "ScimApplication")
        Operation = old.get_model("provisioning", "ScimOperation")
        Outbox = old.get_model("notifications", "OutboxMessage")
        application = Application.objects.create(group_id=group.pk, name="Payroll SaaS",
                                                 base_url="https://scim.example.com/v2/", token_sealed=sealed,
                                                 enabled=True, created_at=now, updated_at=now)
        message = Outbox.objects.create(channel="scim", dedupe_key=f"scim:{application.pk}:{membership.pk}:add",
                                        payload={"operation": 0}, available_at=now, created_at=now)
        Operation.objects.create(application=application, assignment_id=membership.pk, principal_id=alice.principal.pk,
                                 action="add", status="pending", not_before=now, created_at=now,
                                 outbox_message=message)
    finally:
        migrate_to(leaves)

    from connectors.models import Effect, Mapping, Target
    from notifications.models import OutboxMessage

    target = Target.objects.get(kind="scim")
    assert (target.name, target.config["base_url"], target.enabled) == ("Payroll SaaS", "https://scim.example.com/v2",
                                                                        True)
    assert target.secret_sealed == sealed and token not in target.secret_sealed
    assert unseal(target.secret_sealed) == token
    mapping = Mapping.objects.get(target=target)
    assert (mapping.role.slug, mapping.scope, mapping.grant) == ("group-member", group.group_scope, "Payroll admins")
    assert mapping.options == {"external_id": str(group.object_id)}
    effect = Effect.objects.get(target=target)
    assert (effect.action, effect.status, effect.principal_id, effect.assignment_id) == (
        "grant", "queued", alice.principal.pk, membership.pk)
    moved = OutboxMessage.objects.get(pk=effect.outbox_message_id)
    assert moved.channel == "connector" and moved.status == "pending" and moved.payload == {"effect": effect.pk}
    assert not OutboxMessage.objects.filter(channel="scim", status="pending").exists()

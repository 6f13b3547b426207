"""`active=false` (PATCH or PUT) or DELETE of a user over SCIM is offboarding: the user is disabled
and every assignment they hold (eligible, active, memberships, what they activated) ends in the same
transaction, each ending audited with the client as the actor and announced (webhooks receive it
through the outbox); the access check denies at commit. A refusal (the last Global Administrator)
changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from assignments.access import access_find_grant
from assignments.models import Assignment, Principal
from audit.models import AuditEvent
from connectors.models import Effect
from connectors.services import webhook_target_create
from notifications.models import OutboxMessage

from .conftest import Scim, make_client, user_body

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _provisioned_user_with_roles(directory, scim):
    status, created = scim.post("Users", user_body("leaver@example.com", externalId="leaver"))
    assert status == 201
    principal = Principal.objects.select_related("user").get(object_id=created["id"])
    eligible = directory.grant(principal, "exchange-administrator", kind="eligible")
    active = directory.grant(principal, "reader", "/subscriptions/s1")
    group = directory.group("Finance")
    membership = directory.add_member(group, principal)
    activation = Assignment.objects.create(
        principal=principal, role=eligible.role, scope=eligible.scope, kind="active", activated_from=eligible,
        start_at=timezone.now(), end_at=timezone.now() + timedelta(hours=2), created_at=timezone.now())
    return created["id"], principal, [eligible, active, membership, activation]


@pytest.mark.parametrize("how", ["patch-string", "patch-pathless", "put", "delete"])
def test_deprovisioning_ends_every_assignment_audited_as_the_client(directory, global_admin, how):
    client, token = make_client("Entra ID production")
    scim = Scim(token)
    webhook_target_create(actor=global_admin, name="SIEM", mfa_verified_at=timezone.now(),
                          config={"url": "https://hooks.example.com/pim", "event_types": ["assignment.removed"]})
    user_id, principal, held = _provisioned_user_with_roles(directory, scim)
    assert access_find_grant(principal=principal, role="reader", scope="/subscriptions/s1")

    if how == "patch-string":
        status, _ = scim.patch(f"Users/{user_id}", {"schemas": [PATCH], "Operations": [
            {"op": "Replace", "path": "active", "value": "False"}]})
    elif how == "patch-pathless":
        status, _ = scim.patch(f"Users/{user_id}", {"schemas": [PATCH], "Operations": [
            {"op": "replace", "value": {"active": False}}]})
    elif how == "put":
        status, _ = scim.put(f"Users/{user_id}", user_body("leaver@example.com", externalId="leaver", active=False))
    else:
        status, _ = scim.delete(f"Users/{user_id}")
    assert status in (200, 204)

    for assignment in held:
        assignment.refresh_from_db()
        assert assignment.status == Assignment.Status.ENDED, assignment
    principal.user.refresh_from_db()
    assert principal.user.is_active is False
    assert not access_find_grant(principal=principal, role="reader", scope="/subscriptions/s1")
    label = "system:scim (Entra ID production)"
    ended = AuditEvent.objects.filter(action="assignment.end", principal_id=principal.pk)
    assert ended.count() == 4 and {event.actor_label for event in ended} == {label}
    assert AuditEvent.objects.filter(action="user.disable", target_id=str(principal.user.pk),
                                     actor_label=label).count() == 1
    # Each ending reaches the webhook through the outbox (queued in the same transaction).
    deliveries = Effect.objects.filter(action="event", event="assignment.removed")
    assert deliveries.count() == 4
    assert OutboxMessage.objects.filter(pk__in=deliveries.values("outbox_message")).count() == 4


def test_a_refused_disable_changes_nothing(directory):
    """Disabling the last active Global Administrator is refused (409), and nothing is half done."""
    _, token = make_client()
    scim = Scim(token)
    status, created = scim.post("Users", user_body("only.admin@example.com"))
    principal = Principal.objects.select_related("user").get(object_id=created["id"])
    directory.grant(principal, "global-administrator")
    others = Assignment.objects.filter(role__slug="global-administrator", status="live").exclude(principal=principal)
    others.update(status=Assignment.Status.ENDED, ended_at=timezone.now(), end_reason="removed")
    before = AuditEvent.objects.filter(actor_label__startswith="system:scim").count()
    status, body = scim.patch(f"Users/{created['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": False}, {"op": "replace", "path": "displayName", "value": "X"}]})
    assert status == 409, body
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert "Global Administrator" in body["detail"]
    principal.user.refresh_from_db()
    assert principal.user.is_active is True and principal.display_name != "X"
    assert Assignment.objects.filter(principal=principal, status="live").count() == 1
    assert AuditEvent.objects.filter(actor_label__startswith="system:scim").count() == before

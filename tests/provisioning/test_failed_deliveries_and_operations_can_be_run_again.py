"""After fixing the cause (a token, a receiver), an administrator runs a failed SCIM operation or
webhook delivery again from its page; it is audited and delivered once."""

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from provisioning.models import ScimOperation, WebhookDelivery
from tests.conftest import mark_mfa_verified

pytestmark = pytest.mark.django_db


def test_a_failed_scim_operation_runs_again_after_the_token_is_fixed(client, directory, scim_app, scim_peer,
                                                                     global_admin, relay):
    from provisioning.services import scim_application_update

    scim_application_update(actor=global_admin, application=scim_app, name=scim_app.name,
                            base_url=scim_app.base_url, enabled=True, token="wrong", mfa_verified_at=timezone.now())
    assignment = directory.add_member(scim_app.group, directory.user("alice"), kind="active")
    relay()
    operation = ScimOperation.objects.get(assignment=assignment)
    assert operation.status == "failed"

    client.force_login(global_admin)
    mark_mfa_verified(client)
    detail = reverse("provisioning:scim_detail", args=[scim_app.pk])
    assert b"Run again" in client.get(detail).content
    client.post(detail, {"name": scim_app.name, "base_url": scim_app.base_url, "enabled": "on",
                         "new_token": scim_peer.token})
    response = client.post(reverse("provisioning:scim_operation_retry", args=[scim_app.pk, operation.pk]))
    assert response.status_code == 302
    relay()

    operation.refresh_from_db()
    assert operation.status == "done"
    assert scim_peer.member_names(scim_app.group.object_id) == {"alice"}
    assert AuditEvent.objects.filter(action="scim_operation.retry", actor_id=global_admin.pk).exists()

    again = client.post(reverse("provisioning:scim_operation_retry", args=[scim_app.pk, operation.pk]), follow=True)
    assert "Only a failed operation can be run again." in again.content.decode()


def test_a_failed_webhook_delivery_is_sent_again(client, directory, global_admin, receiver, relay):
    from provisioning.services import webhook_endpoint_create

    endpoint, _ = webhook_endpoint_create(actor=global_admin, url=receiver.url, event_types=["assignment.created"],
                                          mfa_verified_at=timezone.now())
    receiver.statuses = [410, 200]
    directory.grant(directory.user("bob"), "security-reader")
    relay()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"

    client.force_login(global_admin)
    mark_mfa_verified(client)
    response = client.post(reverse("provisioning:webhook_delivery_retry", args=[endpoint.pk, delivery.pk]))
    assert response.status_code == 302
    relay()

    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.last_status_code == 200
    assert [h["headers"]["x-pim-delivery"] for h in receiver.received] == [str(delivery.pk)] * 2
    assert AuditEvent.objects.filter(action="webhook_delivery.retry").count() == 1

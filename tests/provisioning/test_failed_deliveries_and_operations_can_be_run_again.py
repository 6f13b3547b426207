"""After fixing the cause (a token), an administrator runs a failed SCIM connector effect again from its
page; it is audited and applied once. (A failed webhook delivery: see the webhook pages' test.)"""

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from connectors.models import Effect
from tests.conftest import mark_mfa_verified

pytestmark = pytest.mark.django_db


def test_a_failed_scim_effect_runs_again_after_the_token_is_fixed(client, directory, scim_app, scim_peer,
                                                                  global_admin, relay):
    from connectors.services import target_update

    target = scim_app.target
    target_update(actor=global_admin, target=target, name=target.name, config=target.config, enabled=True,
                  secret="wrong", mfa_verified_at=timezone.now())
    assignment = directory.add_member(scim_app.group, directory.user("alice"), kind="active")
    relay()
    grant = Effect.objects.get(assignment=assignment, action="grant")
    assert grant.status == "failed"

    client.force_login(global_admin)
    mark_mfa_verified(client)
    detail = reverse("connectors:target", args=[target.pk])
    assert b"Run again" in client.get(detail).content
    client.post(detail, {"name": target.name, "config_base_url": target.config["base_url"],
                         "config_timeout_seconds": "15", "enabled": "on", "secret": scim_peer.token})
    response = client.post(reverse("connectors:effect_retry", args=[target.pk, grant.pk]))
    assert response.status_code == 302
    relay()

    grant.refresh_from_db()
    assert grant.status == "done"
    assert scim_peer.member_names(scim_app.group.object_id) == {"alice"}
    assert AuditEvent.objects.filter(action="connector_effect.retry", actor_id=global_admin.pk).exists()

    again = client.post(reverse("connectors:effect_retry", args=[target.pk, grant.pk]), follow=True)
    assert "Only a failed effect can be run again." in again.content.decode()

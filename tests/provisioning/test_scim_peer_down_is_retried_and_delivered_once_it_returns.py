"""When the SCIM application is unreachable the connector effect stays queued with its error, the relay
retries it with backoff, and it is applied once the application is back; a refused token or a wrong URL
fails the grant at once with a clear error (the connectors' permanent-failure handling)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from connectors.models import Effect, Target
from notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_peer_down_then_back(directory, scim_app, scim_peer, activate, relay):
    alice = directory.user("alice")
    scim_peer.stop()
    scim_peer.requests = 0  # the mapping's check of the group, when it was saved

    request = activate(alice, directory.add_member(scim_app.group, alice, kind="eligible"))
    relay()

    grant = Effect.objects.get(request=request, action="grant")
    assert grant.status == "queued" and grant.attempts == 1
    assert "Could not reach the application" in grant.last_error
    assert Target.objects.get(pk=scim_app.target.pk).status == "error"
    message = OutboxMessage.objects.get(pk=grant.outbox_message_id)
    assert message.status == "pending" and message.available_at > timezone.now()

    scim_peer.start()  # same port, same storage
    relay()  # not before the backoff
    assert scim_peer.user("alice") is None and scim_peer.requests == 0

    with time_machine.travel(message.available_at + timedelta(seconds=1)):
        relay()

    grant.refresh_from_db()
    assert (grant.status, grant.attempts, grant.last_error) == ("done", 2, "")
    assert scim_peer.member_names(scim_app.group.object_id) == {"alice"}
    assert len(scim_peer.resources("User")) == 1 and len(scim_peer.resources("Group")) == 1
    message.refresh_from_db()
    assert message.status == "delivered"
    assert Target.objects.get(pk=scim_app.target.pk).status == "ok"


def test_a_refused_token_fails_at_once_with_a_clear_error(directory, scim_app, scim_peer, global_admin, relay):
    from connectors.services import target_update

    target_update(actor=global_admin, target=scim_app.target, name=scim_app.target.name,
                  config=scim_app.target.config, enabled=True, secret="not-the-token",
                  mfa_verified_at=timezone.now())
    assignment = directory.add_member(scim_app.group, directory.user("bob"), kind="active")

    relay()

    grant = Effect.objects.get(assignment=assignment, action="grant")
    assert grant.status == "failed" and grant.attempts == 1
    assert "401" in grant.last_error and "bearer token" in grant.last_error
    assert OutboxMessage.objects.get(pk=grant.outbox_message_id).status == "failed"
    assert scim_peer.user("bob") is None


def test_a_503_from_a_proxy_is_retried_and_a_404_page_fails(directory, scim_app, scim_peer, relay):
    scim_peer.fail_with = "503 Service Unavailable"
    assignment = directory.add_member(scim_app.group, directory.user("carol"), kind="active")

    relay()
    grant = Effect.objects.get(assignment=assignment, action="grant")
    assert grant.status == "queued" and "503" in grant.last_error

    scim_peer.fail_with = None
    with time_machine.travel(OutboxMessage.objects.get(pk=grant.outbox_message_id).available_at
                             + timedelta(seconds=1)):
        relay()
    grant.refresh_from_db()
    assert grant.status == "done"
    assert scim_peer.member_names(scim_app.group.object_id) == {"carol"}

    scim_peer.fail_with = "404 Not Found"  # a wrong base URL: no use retrying
    other = directory.add_member(scim_app.group, directory.user("dave"), kind="active")
    relay()
    failed = Effect.objects.get(assignment=other, action="grant")
    assert failed.status == "failed" and "HTTP 404" in failed.last_error

"""When the application is unreachable the operation stays pending with its error, the relay
retries it with backoff, and it is delivered once the application is back."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from notifications.models import OutboxMessage
from provisioning.models import ScimOperation

pytestmark = pytest.mark.django_db


def test_peer_down_then_back(directory, scim_app, scim_peer, activate, relay):
    alice = directory.user("alice")
    scim_peer.stop()

    request = activate(alice, directory.add_member(scim_app.group, alice, kind="eligible"))
    relay()

    operation = ScimOperation.objects.get(request=request)
    assert operation.status == "pending" and operation.attempts == 1
    assert "Could not reach the application" in operation.last_error
    message = OutboxMessage.objects.get(channel="scim")
    assert message.status == "pending" and message.available_at > timezone.now()

    scim_peer.start()  # same port, same storage
    relay()  # not before the backoff
    assert scim_peer.user("alice") is None and scim_peer.requests == 0

    with time_machine.travel(message.available_at + timedelta(seconds=1)):
        relay()

    operation.refresh_from_db()
    assert (operation.status, operation.attempts, operation.last_error) == ("done", 2, "")
    assert scim_peer.member_names(scim_app.group.object_id) == {"alice"}
    assert len(scim_peer.resources("User")) == 1 and len(scim_peer.resources("Group")) == 1
    message.refresh_from_db()
    assert message.status == "delivered"


def test_a_refused_token_fails_at_once_with_a_clear_error(directory, scim_app, scim_peer, global_admin, relay):
    from provisioning.services import scim_application_update

    scim_application_update(actor=global_admin, application=scim_app, name=scim_app.name,
                            base_url=scim_app.base_url, enabled=True, token="not-the-token",
                            mfa_verified_at=timezone.now())
    assignment = directory.add_member(scim_app.group, directory.user("bob"), kind="active")

    relay()

    operation = ScimOperation.objects.get(assignment=assignment)
    assert operation.status == "failed" and operation.attempts == 1
    assert "401" in operation.last_error and "bearer token" in operation.last_error
    assert OutboxMessage.objects.get(channel="scim").status == "failed"
    assert scim_peer.user("bob") is None


def test_a_503_from_a_proxy_is_retried_and_a_404_page_fails(directory, scim_app, scim_peer, relay):
    scim_peer.fail_with = "503 Service Unavailable"
    assignment = directory.add_member(scim_app.group, directory.user("carol"), kind="active")

    relay()
    operation = ScimOperation.objects.get(assignment=assignment)
    assert operation.status == "pending" and "503" in operation.last_error

    scim_peer.fail_with = None
    with time_machine.travel(OutboxMessage.objects.get(channel="scim").available_at + timedelta(seconds=1)):
        relay()
    operation.refresh_from_db()
    assert operation.status == "done"
    assert scim_peer.member_names(scim_app.group.object_id) == {"carol"}

    scim_peer.fail_with = "404 Not Found"  # a wrong base URL: no use retrying
    other = directory.add_member(scim_app.group, directory.user("dave"), kind="active")
    relay()
    failed = ScimOperation.objects.get(assignment=other)
    assert failed.status == "failed" and "HTTP 404" in failed.last_error

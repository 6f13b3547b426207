"""A SCIM effect that runs again (a worker died after the effect, a row delivered twice) finds the user
and the membership already there and changes nothing in the application."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from connectors.effects import deliver_effect
from connectors.models import Effect
from notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db


def _again(effect):
    """The same effect applied once more, as a second worker would after a lost acknowledgement."""
    Effect.objects.filter(pk=effect.pk).update(status="queued")
    deliver_effect(OutboxMessage.objects.get(pk=effect.outbox_message_id))


def test_adding_twice_changes_nothing(directory, scim_app, scim_peer, activate, relay):
    alice = directory.user("alice")
    request = activate(alice, directory.add_member(scim_app.group, alice, kind="eligible"))
    relay()
    before = scim_peer.snapshot()
    grant = Effect.objects.get(request=request, action="grant")

    _again(grant)

    assert scim_peer.snapshot() == before  # same resources, same versions
    grant.refresh_from_db()
    assert grant.status == "done" and "already a member" in grant.detail
    assert scim_peer.member_names(scim_app.group.object_id) == {"alice"}


def test_removing_twice_changes_nothing(directory, scim_app, scim_peer, activate, relay):
    from approvals.services import assignment_deactivate

    alice = directory.user("alice")
    request = activate(alice, directory.add_member(scim_app.group, alice, kind="eligible"))
    relay()
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assignment_deactivate(actor=alice, assignment=request.assignment)
        relay()
        before = scim_peer.snapshot()
        revoke = Effect.objects.get(assignment=request.assignment, action="revoke")
        assert revoke.status == "done" and revoke.detail == "member removed"

        _again(revoke)

    assert scim_peer.snapshot() == before
    revoke.refresh_from_db()
    assert revoke.status == "done" and revoke.detail == "not a member: nothing to remove"


def test_the_same_event_twice_queues_one_effect(directory, scim_app):
    """The scheduled-start sweep emits assignment.activated again at the start: still one grant."""
    from core import domain_events

    assignment = directory.add_member(scim_app.group, directory.user("bob"), kind="active")
    domain_events.emit("assignment.activated", assignment=assignment, request=None, actor=None)

    assert Effect.objects.filter(assignment=assignment, action="grant").count() == 1
    assert OutboxMessage.objects.filter(channel="connector").count() == 1

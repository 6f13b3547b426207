"""A SCIM delivery that runs again (a worker died after the effect, a task delivered twice) finds
the user and the membership already there and changes nothing in the application."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from notifications.models import OutboxMessage
from provisioning.models import ScimOperation
from provisioning.scim import deliver_scim

pytestmark = pytest.mark.django_db


def _again(operation):
    message = OutboxMessage.objects.get(pk=operation.outbox_message_id)
    deliver_scim(message)


def test_adding_twice_changes_nothing(directory, scim_app, scim_peer, activate, relay):
    alice = directory.user("alice")
    request = activate(alice, directory.add_member(scim_app.group, alice, kind="eligible"))
    relay()
    before = scim_peer.snapshot()
    operation = ScimOperation.objects.get(request=request)

    _again(operation)

    assert scim_peer.snapshot() == before  # same resources, same versions
    operation.refresh_from_db()
    assert operation.status == "done" and "already a member" in operation.detail
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
        operation = ScimOperation.objects.get(assignment=request.assignment, action="remove")

        _again(operation)

    assert scim_peer.snapshot() == before
    operation.refresh_from_db()
    assert operation.status == "done" and operation.detail == "not a member: nothing to remove"


def test_the_same_event_twice_queues_one_operation(directory, scim_app):
    """The scheduled-start sweep emits assignment.activated again at the start: still one row."""
    from core import domain_events

    assignment = directory.add_member(scim_app.group, directory.user("bob"), kind="active")
    domain_events.emit("assignment.activated", assignment=assignment, request=None, actor=None)

    assert ScimOperation.objects.filter(assignment=assignment).count() == 1
    assert OutboxMessage.objects.filter(channel="scim").count() == 1

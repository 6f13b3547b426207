"""Ending a group membership (deactivation, removal, expiry) removes the member in the application, as
the revoke effect of the SCIM connector."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals.models import Request
from connectors.models import Effect
from connectors.selectors import effects_for_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def provisioned(directory, scim_app, scim_peer, activate, relay):
    """alice activated her eligible membership and is a member in the application."""
    alice = directory.user("alice")
    eligible = directory.add_member(scim_app.group, alice, kind="eligible")
    request = activate(alice, eligible)
    relay()
    assert scim_peer.member_names(scim_app.group.object_id) == {"alice"}
    return alice, eligible, request.assignment


def test_deactivation_removes_the_membership(provisioned, scim_app, scim_peer, relay):
    from approvals.services import assignment_deactivate

    alice, _, activation = provisioned
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assignment_deactivate(actor=alice, assignment=activation)
        request = Request.objects.get(action=Request.Action.SELF_DEACTIVATE, assignment=activation)
        [status] = [e for e in effects_for_request(request=request) if e.action == "revoke"]
        assert status.status == "queued"
        relay()

    assert scim_peer.member_names(scim_app.group.object_id) == set()
    assert scim_peer.user("alice") is not None  # the account stays; only the membership goes
    status.refresh_from_db()
    assert status.status == "done" and status.detail == "member removed"


def test_administrator_removal_of_the_eligibility_removes_the_membership(provisioned, scim_app, scim_peer, relay,
                                                                         global_admin):
    from assignments.services import assignment_remove

    _, eligible, activation = provisioned
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assignment_remove(actor=global_admin, assignment=eligible, justification="left the team")
        relay()

    assert scim_peer.member_names(scim_app.group.object_id) == set()
    assert Effect.objects.get(assignment=activation, action="revoke").status == "done"


def test_expiry_removes_the_membership(provisioned, scim_app, scim_peer, relay):
    from assignments.sweeps import assignments_expire

    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert assignments_expire().processed >= 1
        relay()

    assert scim_peer.member_names(scim_app.group.object_id) == set()


def test_a_remaining_membership_keeps_the_member(provisioned, directory, scim_app, scim_peer, relay, global_admin):
    """Removal is skipped while the person still holds another active membership of the group."""
    from approvals.services import assignment_deactivate

    alice, eligible, activation = provisioned
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assignment_deactivate(actor=alice, assignment=activation)
        directory.add_member(scim_app.group, alice, kind="active")  # made a static member meanwhile
        relay()

    assert scim_peer.member_names(scim_app.group.object_id) == {"alice"}
    remove = Effect.objects.get(assignment=activation, action="revoke")
    assert remove.status == "skipped" and remove.detail.startswith("not revoked: still held through")


def test_a_membership_ending_while_it_is_being_added_is_removed_again(directory, scim_app, scim_peer, monkeypatch,
                                                                      relay):
    """The end commits between the add's check and its PATCH; the remove ran first and found nothing."""
    from assignments.models import Assignment
    from provisioning import scim_protocol

    assignment = directory.add_member(scim_app.group, directory.user("zoe"), kind="active")
    real_add = scim_protocol.scim_add_member

    def add_then_end(client, **kwargs):
        result = real_add(client, **kwargs)
        Assignment.objects.filter(pk=assignment.pk).update(status="ended", end_reason="removed",
                                                           ended_at=timezone.now(), end_at=timezone.now())
        return result

    monkeypatch.setattr(scim_protocol, "scim_add_member", add_then_end)
    relay()

    assert scim_peer.member_names(scim_app.group.object_id) == set()
    add = Effect.objects.get(assignment=assignment, action="grant")
    assert add.status == "done" and add.detail.endswith("the role ended meanwhile: member removed")

"""Activating an eligible group membership creates the user in each application of the group (if
missing) and adds the membership; the status shows on the request."""

import pytest
from django.utils import timezone

from notifications.models import OutboxMessage
from provisioning.models import ScimOperation
from provisioning.selectors import provisioning_status_for_request

pytestmark = pytest.mark.django_db


def test_activation_creates_the_user_and_adds_the_membership(directory, scim_app, scim_peer, activate, relay):
    group = scim_app.group
    alice = directory.user("alice")
    eligible = directory.add_member(group, alice, kind="eligible")
    assert OutboxMessage.objects.filter(channel="scim").count() == 0  # eligibility alone grants nothing

    request = activate(alice, eligible)

    [status] = provisioning_status_for_request(request=request)
    assert (status.application, status.action, status.status) == (scim_app, "add", "pending")
    message = OutboxMessage.objects.get(channel="scim")
    assert message.correlation_id == request.pk
    assert scim_peer.user("alice") is None

    assert relay() >= 1

    peer_user = scim_peer.user("alice")
    assert peer_user is not None and peer_user.external_id == str(alice.principal.object_id)
    assert scim_peer.group(group.object_id).display_name == "Payroll admins"
    assert scim_peer.member_names(group.object_id) == {"alice"}
    [status] = provisioning_status_for_request(request=request)
    assert status.status == ScimOperation.Status.DONE
    assert "created user alice" in status.detail and "member added" in status.detail


def test_an_existing_user_and_group_in_the_application_are_reused(directory, scim_app, scim_peer, activate, relay):
    from scim2_models import Group, User

    from provisioning.scim_protocol import scim_client

    group = scim_app.group
    client = scim_client(base_url=scim_peer.base_url, token=scim_peer.token)
    client.create(User(user_name="bob", display_name="Bob (pre-existing)"))
    client.create(Group(display_name="Payroll admins"))  # no externalId: found by displayName
    bob = directory.user("bob")

    request = activate(bob, directory.add_member(group, bob, kind="eligible"))
    relay()

    assert len(scim_peer.resources("User")) == 1 and len(scim_peer.resources("Group")) == 1
    [peer_group] = scim_peer.resources("Group")
    assert {m.value for m in peer_group.members} == {scim_peer.user("bob").id}
    [status] = provisioning_status_for_request(request=request)
    assert status.status == "done" and "user bob found" in status.detail


def test_an_active_membership_assigned_by_an_administrator_is_provisioned(directory, scim_app, scim_peer, relay):
    carol = directory.user("carol")
    directory.add_member(scim_app.group, carol, kind="active")

    relay()

    assert scim_peer.member_names(scim_app.group.object_id) == {"carol"}


def test_other_groups_and_roles_cause_no_scim_work(directory, scim_app, relay):
    dave = directory.user("dave")
    other = directory.group("Other group")
    directory.add_member(other, dave, kind="active")
    directory.grant(dave, "group-owner", scim_app.group.group_scope, kind="active")

    assert ScimOperation.objects.count() == 0
    assert not OutboxMessage.objects.filter(channel="scim").exists()


def test_a_disabled_application_gets_nothing(directory, scim_app, global_admin, relay):
    from provisioning.services import scim_application_update

    scim_application_update(actor=global_admin, application=scim_app, name=scim_app.name,
                            base_url=scim_app.base_url, enabled=False, mfa_verified_at=timezone.now())
    directory.add_member(scim_app.group, directory.user("erin"), kind="active")

    assert ScimOperation.objects.count() == 0


def test_the_timeline_fragment_shows_the_status(directory, scim_app, activate, relay):
    from django.template.loader import render_to_string

    alice = directory.user("alice")
    request = activate(alice, directory.add_member(scim_app.group, alice, kind="eligible"))
    pending = render_to_string("provisioning/_request_status.html",
                               {"operations": provisioning_status_for_request(request=request)})
    assert "SCIM · Payroll SaaS" in pending and "Pending" in pending

    relay()
    done = render_to_string("provisioning/_request_status.html",
                            {"operations": provisioning_status_for_request(request=request)})
    assert "Done" in done and "member added" in done

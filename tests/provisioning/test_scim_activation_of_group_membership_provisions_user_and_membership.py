"""Activating an eligible group membership mapped to a SCIM 2.0 group connector creates the user in the
application (if missing) and adds the membership, as one connector effect; the status shows on the
request's timeline like every connector's."""

import pytest
from django.utils import timezone

from connectors.models import Effect
from connectors.selectors import effects_for_request
from notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_activation_creates_the_user_and_adds_the_membership(directory, scim_app, scim_peer, activate, relay):
    group = scim_app.group
    alice = directory.user("alice")
    eligible = directory.add_member(group, alice, kind="eligible")
    assert not Effect.objects.exists()  # eligibility alone grants nothing

    request = activate(alice, eligible)

    grant, revoke = effects_for_request(request=request)
    assert (grant.target, grant.action, grant.status) == (scim_app.target, "grant", "queued")
    assert (revoke.action, revoke.not_before) == ("revoke", request.assignment.end_at)  # due at its end
    message = OutboxMessage.objects.get(pk=grant.outbox_message_id)
    assert message.channel == "connector" and message.correlation_id == request.pk
    assert not OutboxMessage.objects.filter(channel="scim").exists()  # the retired channel
    assert scim_peer.user("alice") is None

    assert relay() >= 1

    peer_user = scim_peer.user("alice")
    assert peer_user is not None and peer_user.external_id == str(alice.principal.object_id)
    assert scim_peer.group(group.object_id).display_name == "Payroll admins"
    assert scim_peer.member_names(group.object_id) == {"alice"}
    grant.refresh_from_db()
    assert grant.status == "done" and grant.applied_at is not None
    assert "created user alice" in grant.detail and "member added" in grant.detail


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
    grant = Effect.objects.get(request=request, action="grant")
    assert grant.status == "done" and "user bob found" in grant.detail


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

    assert not Effect.objects.exists()
    assert not OutboxMessage.objects.filter(channel="connector").exists()


def test_a_disabled_target_gets_nothing(directory, scim_app, global_admin, relay):
    from connectors.services import target_update

    target_update(actor=global_admin, target=scim_app.target, name=scim_app.target.name,
                  config=scim_app.target.config, enabled=False, mfa_verified_at=timezone.now())
    directory.add_member(scim_app.group, directory.user("erin"), kind="active")

    assert not Effect.objects.exists()


def test_the_request_timeline_shows_the_status(directory, scim_app, activate, relay, client):
    from django.urls import reverse

    alice = directory.user("alice")
    request = activate(alice, directory.add_member(scim_app.group, alice, kind="eligible"))
    client.force_login(alice)
    url = reverse("approvals:request_detail", args=[request.pk])
    pending = client.get(url).content.decode()
    assert "Payroll SaaS" in pending and "Queued" in pending

    relay()
    done = client.get(url).content.decode()
    assert "Granted" in done and "member added" in done

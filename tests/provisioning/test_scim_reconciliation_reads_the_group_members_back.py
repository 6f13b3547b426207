"""Reconciliation of a SCIM 2.0 group connector reads the group's members back from the application: a
member added there by hand is drift "outside PIM" (and can be revoked in place), a member PIM provisioned
is not drift, and one removed by hand while PIM says active is "missing"."""

import pytest
from django.utils import timezone

from connectors.models import Drift
from connectors.reconcile import target_reconcile
from connectors.services import drift_fix_revoke

pytestmark = pytest.mark.django_db


def _add_by_hand(scim_peer, group_external_id, user_name):
    from scim2_models import Group, GroupMember, PatchOp, PatchOperation, User

    from provisioning.scim_protocol import scim_client

    client = scim_client(base_url=scim_peer.base_url, token=scim_peer.token)
    user = client.create(User(user_name=user_name))
    group = scim_peer.group(group_external_id)
    client.modify(Group, group.id, PatchOp[Group](operations=[
        PatchOperation[Group](op=PatchOperation.Op.add, path="members", value=[GroupMember(value=user.id)])]))


def test_reconciliation_reads_the_members_back(directory, scim_app, scim_peer, global_admin, relay):
    alice = directory.user("alice")
    membership = directory.add_member(scim_app.group, alice, kind="active")
    relay()
    assert scim_peer.member_names(scim_app.group.object_id) == {"alice"}
    result = target_reconcile(target=scim_app.target)
    assert (result.errors, result.holders, result.opened) == ([], 1, 0)

    directory.user("mallory")
    _add_by_hand(scim_peer, scim_app.group.object_id, "mallory")
    result = target_reconcile(target=scim_app.target)
    assert result.holders == 2
    drift = Drift.objects.get(status="open")
    assert (drift.kind, drift.account, drift.principal.user.username) == ("outside", "mallory", "mallory")

    drift_fix_revoke(actor=global_admin, drift=drift, mfa_verified_at=timezone.now())
    assert scim_peer.member_names(scim_app.group.object_id) == {"alice"}

    # Someone removes alice by hand in the application: PIM says she is a member.
    from scim2_models import Group, PatchOp, PatchOperation

    from provisioning.scim_protocol import scim_client

    client = scim_client(base_url=scim_peer.base_url, token=scim_peer.token)
    peer_group = scim_peer.group(scim_app.group.object_id)
    client.modify(Group, peer_group.id, PatchOp[Group](operations=[PatchOperation[Group](
        op=PatchOperation.Op.remove, path=f'members[value eq "{scim_peer.user("alice").id}"]')]))
    target_reconcile(target=scim_app.target)
    missing = Drift.objects.get(status="open")
    assert (missing.kind, missing.principal_id) == ("missing", membership.principal_id)


def test_an_unreachable_application_changes_no_drift(directory, scim_app, scim_peer):
    scim_peer.stop()
    result = target_reconcile(target=scim_app.target)
    assert result.errors and "Could not reach the application" in result.errors[0]
    assert not Drift.objects.exists()

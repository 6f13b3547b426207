"""When an activation with an end is granted, the revoke of that end is queued in the same transaction,
due at the end: the target loses the grant at the end even when the expiry sweep has not run (and the
sweep, when it runs, queues no second revoke). The revoke moves with the end: an extension moves it
later, shortening moves it earlier, an early deactivation makes it due at once, making it permanent
drops it."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments.models import Assignment
from assignments.services import assignment_deactivate, assignment_extend, assignment_update
from assignments.sweeps import assignments_expire
from connectors.models import Effect
from notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db


def _revokes(assignment):
    return list(Effect.objects.filter(assignment=assignment, action="revoke"))


def test_the_grant_is_revoked_at_its_end_while_the_sweep_lags(slapd, mapped_ldap_group, db_admins_group, directory,
                                                              activate, relay):
    _, group_dn = mapped_ldap_group
    alice_dn = slapd.add_user("alice")
    alice = directory.user("alice")
    request = activate(alice, directory.add_member(db_admins_group, alice, kind="eligible"), duration_minutes=60)
    activation = request.assignment
    [revoke] = _revokes(activation)  # queued with the grant, before any relay ran
    assert revoke.status == "queued" and revoke.not_before == activation.end_at
    assert OutboxMessage.objects.get(pk=revoke.outbox_message_id).available_at == activation.end_at
    relay()
    assert slapd.members(group_dn) == [alice_dn]

    with time_machine.travel(activation.end_at - timedelta(seconds=1), tick=False):
        relay()
    assert slapd.members(group_dn) == [alice_dn]  # not one second early

    with time_machine.travel(activation.end_at + timedelta(seconds=1), tick=False):
        relay()  # no sweep has run: the activation is still "live" in its row, past its end
        assert Assignment.objects.get(pk=activation.pk).status == "live"
    assert slapd.members(group_dn) == []
    revoke.refresh_from_db()
    assert revoke.status == "done" and "removed" in revoke.detail
    assert revoke.applied_at <= activation.end_at + timedelta(seconds=1)

    with time_machine.travel(activation.end_at + timedelta(minutes=5), tick=False):
        assignments_expire()  # the sweep, late
        relay()
        assert Assignment.objects.get(pk=activation.pk).status == "ended"
    assert [r.pk for r in _revokes(activation)] == [revoke.pk]  # no second revoke
    assert Effect.objects.filter(assignment=activation, action="revoke", status="done").count() == 1


def test_extending_and_shortening_move_the_revoke(slapd, mapped_ldap_group, db_admins_group, directory, global_admin,
                                                  relay):
    _, group_dn = mapped_ldap_group
    bob_dn = slapd.add_user("bob")
    bob = directory.user("bob")
    now = timezone.now()
    membership = directory.add_member(db_admins_group, bob, end=now + timedelta(hours=2))
    relay()
    assert slapd.members(group_dn) == [bob_dn]
    [revoke] = _revokes(membership)
    assert revoke.not_before == membership.end_at

    extended = assignment_extend(actor=global_admin, assignment=membership, end_at=now + timedelta(hours=4),
                                 justification="longer", mfa_verified_at=timezone.now())
    revoke.refresh_from_db()
    assert revoke.not_before == extended.end_at and revoke.status == "queued"
    with time_machine.travel(now + timedelta(hours=2, minutes=1), tick=False):
        relay()  # the row queued for the old end runs and does nothing
    assert slapd.members(group_dn) == [bob_dn]

    shortened = assignment_update(actor=global_admin, assignment=extended, start_at=extended.start_at,
                                  end_at=now + timedelta(hours=1), justification="shorter",
                                  mfa_verified_at=timezone.now())
    revoke.refresh_from_db()
    assert revoke.not_before == shortened.end_at
    with time_machine.travel(shortened.end_at + timedelta(seconds=1), tick=False):
        relay()
    assert slapd.members(group_dn) == []
    assert _revokes(membership) == [revoke] and Effect.objects.get(pk=revoke.pk).status == "done"


def test_an_early_deactivation_makes_the_revoke_due_at_once(slapd, mapped_ldap_group, db_admins_group, directory,
                                                            activate, relay):
    _, group_dn = mapped_ldap_group
    slapd.add_user("carol")
    carol = directory.user("carol")
    request = activate(carol, directory.add_member(db_admins_group, carol, kind="eligible"), duration_minutes=120)
    relay()
    later = timezone.now() + timedelta(minutes=10)
    with time_machine.travel(later, tick=False):
        assignment_deactivate(actor=carol, assignment=request.assignment, justification="done early")
        [revoke] = _revokes(request.assignment)
        assert revoke.not_before == later
        relay()
    assert slapd.members(group_dn) == []
    assert Effect.objects.get(pk=revoke.pk).status == "done"


def test_making_it_permanent_drops_the_scheduled_revoke(slapd, mapped_ldap_group, db_admins_group, directory,
                                                        global_admin, relay):
    _, group_dn = mapped_ldap_group
    dave_dn = slapd.add_user("dave")
    dave = directory.user("dave")
    now = timezone.now()
    membership = directory.add_member(db_admins_group, dave, end=now + timedelta(hours=2))
    relay()
    assignment_update(actor=global_admin, assignment=membership, start_at=membership.start_at, end_at=None,
                      justification="standing", mfa_verified_at=timezone.now())
    [revoke] = _revokes(membership)
    assert revoke.status == "skipped"
    with time_machine.travel(now + timedelta(hours=3), tick=False):
        relay()
    assert slapd.members(group_dn) == [dave_dn]

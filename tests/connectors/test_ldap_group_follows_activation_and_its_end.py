"""Member of group DB-Admins mapped to an LDAP group: activating the membership adds the user's DN to
the group in a real slapd (as ldapsearch sees it); deactivating or expiring it removes it; the request
timeline shows queued → granted at → revoked at."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from assignments.sweeps import assignments_expire
from connectors.models import Effect
from connectors.selectors import effects_for_request

pytestmark = pytest.mark.django_db


def _ldapsearch_members(slapd, group_dn):
    return slapd.ldapsearch_members(group_dn)


def test_activation_adds_the_member_and_its_end_removes_it(slapd, mapped_ldap_group, db_admins_group, directory,
                                                          activate, relay):
    mapping, group_dn = mapped_ldap_group
    alice_dn = slapd.add_user("alice")
    alice = directory.user("alice")
    eligible = directory.add_member(db_admins_group, alice, kind="eligible")
    assert Effect.objects.count() == 0  # eligibility grants nothing

    request = activate(alice, eligible, duration_minutes=60)
    effect, scheduled = effects_for_request(request=request)
    assert (effect.action, effect.status, effect.mapping) == ("grant", "queued", mapping)
    # The revoke of its end is queued with it, due at the end.
    assert (scheduled.action, scheduled.status, scheduled.not_before) == ("revoke", "queued",
                                                                          request.assignment.end_at)
    assert _ldapsearch_members(slapd, group_dn) == set()

    relay()
    assert _ldapsearch_members(slapd, group_dn) == {alice_dn}
    effect.refresh_from_db()
    assert effect.status == "done" and effect.applied_at is not None and "added" in effect.detail

    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        assignments_expire()
        relay()
    assert _ldapsearch_members(slapd, group_dn) == set()
    grant, revoke = effects_for_request(request=request)
    assert (grant.action, grant.status) == ("grant", "done")
    assert (revoke.action, revoke.status) == ("revoke", "done") and revoke.applied_at > grant.applied_at


def test_deactivation_removes_the_member_and_the_timeline_shows_both(slapd, mapped_ldap_group, db_admins_group,
                                                                    directory, activate, relay, client):
    from assignments.services import assignment_deactivate

    _, group_dn = mapped_ldap_group
    bob_dn = slapd.add_user("bob")
    bob = directory.user("bob")
    request = activate(bob, directory.add_member(db_admins_group, bob, kind="eligible"))
    relay()
    assert _ldapsearch_members(slapd, group_dn) == {bob_dn}

    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        assignment_deactivate(actor=bob, assignment=request.assignment, justification="done")
        relay()
    assert _ldapsearch_members(slapd, group_dn) == set()

    client.force_login(bob)
    page = client.get(reverse("approvals:request_detail", args=[request.pk])).content.decode()
    assert page.count('data-testid="connector-effect"') == 2
    assert "Granted" in page and "Revoked" in page and group_dn in page


def test_a_user_holding_the_role_another_way_keeps_the_grant(slapd, ldap_target, directory, global_admin,
                                                            open_policy, activate, relay):
    """Contributor at a database resource → an LDAP group; Carol holds Contributor on the subscription
    (which covers the resource) and activates it at the resource as well: its end revokes nothing."""
    from connectors.services import mapping_create

    database = directory.scope("/subscriptions/s1/resourceGroups/rg1/providers/Sql/servers/x")
    group_dn = slapd.add_group("sql-x-contributors")
    mapping_create(actor=global_admin, target=ldap_target, role=directory.role("contributor"), scope=database,
                   grant=group_dn, mfa_verified_at=timezone.now())
    open_policy("contributor", database)
    carol_dn = slapd.add_user("carol")
    carol = directory.user("carol")
    directory.grant(carol, "contributor", "/subscriptions/s1")
    relay()
    assert _ldapsearch_members(slapd, group_dn) == {carol_dn}
    request = activate(carol, directory.grant(carol, "contributor", database, kind="eligible"))
    relay()
    assert _ldapsearch_members(slapd, group_dn) == {carol_dn}

    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        assignments_expire()
        relay()
    assert _ldapsearch_members(slapd, group_dn) == {carol_dn}
    revoke = [e for e in effects_for_request(request=request) if e.action == "revoke"][0]
    assert revoke.status == "skipped" and "still held" in revoke.detail

"""Two mappings of one target to the same grant (membership of DB-Admins and of DB-Operators both mean
the LDAP group cn=DB-Admins): when one of the user's roles ends, its revoke is skipped while the other
still holds the grant, and the grant goes only when the last one ends. Against a real slapd."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments.sweeps import assignments_expire
from connectors.models import Effect
from connectors.services import mapping_create

pytestmark = pytest.mark.django_db


def test_the_shared_grant_stays_until_the_last_mapped_role_ends(slapd, mapped_ldap_group, db_admins_group, ldap_target,
                                                                directory, open_policy, activate, relay, global_admin):
    _, group_dn = mapped_ldap_group
    operators = directory.group("DB-Operators")
    open_policy("group-member", operators.group_scope)
    mapping_create(actor=global_admin, target=ldap_target, role=directory.role("group-member"),
                   scope=operators.group_scope, grant=group_dn, mfa_verified_at=timezone.now())
    alice_dn = slapd.add_user("alice")
    alice = directory.user("alice")
    short = activate(alice, directory.add_member(db_admins_group, alice, kind="eligible"), duration_minutes=60)
    long = activate(alice, directory.add_member(operators, alice, kind="eligible"), duration_minutes=180)
    relay()
    assert slapd.ldapsearch_members(group_dn) == {alice_dn}

    with time_machine.travel(short.assignment.end_at + timedelta(minutes=1), tick=False):
        assignments_expire()
        relay()
        assert slapd.ldapsearch_members(group_dn) == {alice_dn}  # still held through DB-Operators
        skipped = Effect.objects.get(assignment=short.assignment, action="revoke")
        assert skipped.status == "skipped", (skipped.status, skipped.detail)

    with time_machine.travel(long.assignment.end_at + timedelta(minutes=1), tick=False):
        assignments_expire()
        relay()
        assert slapd.ldapsearch_members(group_dn) == set()
        assert Effect.objects.get(assignment=long.assignment, action="revoke").status == "done"

"""The walk-through end to end: on the Connectors pages an administrator maps "Member of group DB-Admins"
to an LDAP group (a real slapd) and "db_owner at /subscriptions/…/databases/x" to a PostgreSQL role (a
scratch database on the machine's server); a user activates both, and at once (the relay's next pass)
ldapsearch lists them in the group and pg_auth_members has the role granted to their login; at the end
both are revoked; someone then grants both by hand in the targets, reconciliation finds it, and the
incident's page offers the fixes in place."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from alerts.models import Incident
from assignments.models import RoleDefinition
from assignments.sweeps import assignments_expire
from connectors.models import Drift, Mapping
from connectors.reconcile import connectors_reconcile
from tests.conftest import mark_mfa_verified

pytestmark = pytest.mark.django_db

DATABASE = "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Sql/servers/sql1/databases/x"


@pytest.fixture
def db_owner(directory):
    from assignments import services
    from tests.connectors.conftest import SETUP

    role = services.role_definition_create(slug="db-owner", name="db_owner", kind="resource",
                                           actions=["Microsoft.Sql/servers/databases/*"], actor=SETUP)
    directory.roles[role.slug] = role
    return role


def _map(client, target, role, scope, grant, **options):
    response = client.post(reverse("connectors:mapping_create", args=[target.pk]), {
        "role": role.pk, "scope": scope.path, "grant": grant, "reason": "the team needs it in the target",
        **{f"option_{k}": v for k, v in options.items()}})
    assert response.status_code == 302, response.content.decode()[-2000:]
    return Mapping.objects.get(target=target, grant=grant)


def test_map_activate_see_it_end_and_a_hand_grant_is_an_incident_with_fixes(
        client, slapd, scratch_pg, ldap_target, pg_target, db_admins_group, db_owner, directory, open_policy, activate,
        relay, global_admin):
    database = directory.scope(DATABASE)
    open_policy("db-owner", database)
    group_dn, pg_role = slapd.add_group("DB-Admins"), scratch_pg.role("db_owner")

    client.force_login(global_admin)
    mark_mfa_verified(client)
    _map(client, ldap_target, RoleDefinition.objects.get(slug="group-member"), db_admins_group.group_scope, group_dn)
    _map(client, pg_target, db_owner, database, pg_role)

    alice_dn, alice_login = slapd.add_user("alice"), scratch_pg.login("alice")
    alice = directory.user("alice")
    membership = activate(alice, directory.add_member(db_admins_group, alice, kind="eligible"), duration_minutes=60)
    owner = activate(alice, directory.grant(alice, "db-owner", database, kind="eligible"), duration_minutes=60)
    relay()
    assert slapd.ldapsearch_members(group_dn) == {alice_dn}
    assert scratch_pg.members(pg_role) == {alice_login}
    own = Client()
    own.force_login(alice)  # the request's timeline shows what it did in the target
    assert pg_role in own.get(reverse("approvals:request_detail", args=[owner.pk])).content.decode()

    end = max(membership.assignment.end_at, owner.assignment.end_at) + timedelta(minutes=1)
    with time_machine.travel(end, tick=False):
        assignments_expire()
        relay()
        assert slapd.ldapsearch_members(group_dn) == set()
        assert scratch_pg.members(pg_role) == set()

        # By hand, outside PIM, in both targets.
        slapd.add_member(group_dn, alice_dn)
        scratch_pg.grant_by_hand(pg_role, alice_login)
        connectors_reconcile()

        drifts = list(Drift.objects.filter(status="open").order_by("target__kind"))
        assert [(d.target.kind, d.account) for d in drifts] == [("ldap", alice_dn), ("postgresql", alice_login)]
        # PIM granted both once and they ended: still present after the end.
        assert {d.kind for d in drifts} == {"lingering"}
        incident = Incident.objects.get(alert_key="connector_drift", is_current=True)
        incident_page = client.get(reverse("alerts:incident", args=[incident.pk])).content.decode()
        for drift in drifts:
            assert reverse("connectors:drift_fix", args=[drift.target_id, drift.pk, "revoke"]) in incident_page

        back = reverse("alerts:incident", args=[incident.pk])
        mark_mfa_verified(client)  # an hour later: a fresh verification to change a target
        for drift in drifts:
            fixed = client.post(reverse("connectors:drift_fix", args=[drift.target_id, drift.pk, "revoke"]),
                                {"next": back})
            assert fixed.status_code == 302 and fixed.url == back
        assert slapd.ldapsearch_members(group_dn) == set() and scratch_pg.members(pg_role) == set()
        assert not Drift.objects.filter(status="open").exists()


def test_a_hand_grant_to_someone_pim_never_granted_is_assigned_outside_pim(
        client, slapd, scratch_pg, pg_target, db_owner, directory, global_admin):
    pg_role = scratch_pg.role("db_owner")
    client.force_login(global_admin)
    mark_mfa_verified(client)
    _map(client, pg_target, db_owner, directory.scope(DATABASE), pg_role)
    mallory_login = scratch_pg.login("mallory")
    directory.user("mallory")
    scratch_pg.grant_by_hand(pg_role, mallory_login)

    connectors_reconcile()
    drift = Drift.objects.get(status="open")
    assert (drift.kind, drift.account) == ("outside", mallory_login)
    outside = Incident.objects.get(alert_key="roles_assigned_outside_pim", is_current=True)
    page = client.get(reverse("alerts:incident", args=[outside.pk])).content.decode()
    for fix in ("revoke", "adopt"):
        assert reverse("connectors:drift_fix", args=[drift.target_id, drift.pk, fix]) in page

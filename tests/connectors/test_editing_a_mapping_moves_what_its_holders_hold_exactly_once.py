"""Editing a mapping (its grant, role, scope or options) is validated against the target like a new one,
audited, versioned with its reason (and rolled back like any version), refused under dual control; and
who holds the mapped role now follows it in the target through effects: the old grant revoked and the
new one granted once each, in a real slapd and a real PostgreSQL server."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments.sweeps import assignments_expire
from audit.models import AuditEvent
from connectors.models import Effect, Mapping
from connectors.services import mapping_create, mapping_update
from core.actors import Actor
from core.errors import DomainError
from policy import services as policy
from policy.models import ConfigVersion

pytestmark = pytest.mark.django_db

DATABASES = "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Sql/servers/sql1/databases"


def _versions(mapping: Mapping) -> list[ConfigVersion]:
    key = f"{mapping.target.name}|{mapping.role.slug}@{mapping.scope.path}|{mapping.grant}"
    return list(ConfigVersion.objects.filter(kind="connector_mapping", key=key).order_by("number"))


def _edit(mapping, actor, **changes):
    mapping = Mapping.objects.select_related("target", "role", "scope").get(pk=mapping.pk)
    values = {"role": mapping.role, "scope": mapping.scope, "grant": mapping.grant, "options": mapping.options,
              "reason": "the team moved to another group"} | changes
    return mapping_update(actor=actor, mapping=mapping, mfa_verified_at=timezone.now(), **values)


def test_a_new_ldap_group_takes_the_members_and_the_old_one_loses_them(slapd, mapped_ldap_group, db_admins_group,
                                                                      directory, activate, relay, global_admin):
    mapping, old_dn = mapped_ldap_group
    alice_dn = slapd.add_user("alice")
    alice = directory.user("alice")
    request = activate(alice, directory.add_member(db_admins_group, alice, kind="eligible"), duration_minutes=60)
    relay()
    assert slapd.members(old_dn) == [alice_dn]
    new_dn = slapd.add_group("DB-Operators")

    edited = _edit(mapping, global_admin, grant=new_dn)
    remapped = Effect.objects.filter(transition__startswith="remapped:")
    assert sorted((e.action, e.applied_grant) for e in remapped) == [("grant", new_dn), ("revoke", old_dn)]
    relay()
    assert slapd.members(old_dn) == [] and slapd.members(new_dn) == [alice_dn]
    assert set(remapped.values_list("status", flat=True)) == {"done"}

    relay()  # nothing is applied twice
    assert Effect.objects.filter(transition__startswith="remapped:").count() == 2
    assert slapd.members(new_dn) == [alice_dn]

    # The end of the activation (its revoke was queued with the grant) now takes the new group away.
    with time_machine.travel(request.assignment.end_at + timedelta(minutes=1), tick=False):
        assignments_expire()
        relay()
    assert slapd.members(new_dn) == [] and slapd.members(old_dn) == []

    event = AuditEvent.objects.get(action="connector_mapping.update")
    assert event.before == {"grant": old_dn} and event.after == {"grant": new_dn}
    assert "the team moved to another group" in event.message
    # The key names what is mapped: the old one is removed, the new one created, each with the reason.
    assert [v.data for v in _versions(mapping)][-1] is None
    created = _versions(edited)
    assert [v.data for v in created] == [{"options": {}, "enabled": True}]
    assert created[0].reason == "the team moved to another group" and created[0].created_by == global_admin


def test_a_grant_the_target_does_not_have_is_refused_and_nothing_changes(slapd, mapped_ldap_group, db_admins_group,
                                                                        directory, activate, relay, global_admin):
    mapping, old_dn = mapped_ldap_group
    alice_dn = slapd.add_user("alice")
    alice = directory.user("alice")
    activate(alice, directory.add_member(db_admins_group, alice, kind="eligible"))
    relay()
    before = Effect.objects.count()

    with pytest.raises(DomainError) as refused:
        _edit(mapping, global_admin, grant="cn=Nobody,ou=groups,dc=example,dc=org")
    assert refused.value.code == "invalid" and "grant" in refused.value.errors
    with pytest.raises(DomainError) as unexplained:
        _edit(mapping, global_admin, grant=slapd.add_group("DB-Operators"), reason=" ")
    assert "reason" in unexplained.value.errors

    mapping.refresh_from_db()
    assert mapping.grant == old_dn and Effect.objects.count() == before
    assert slapd.members(old_dn) == [alice_dn]
    assert not AuditEvent.objects.filter(action="connector_mapping.update", outcome="success").exists()


def test_under_dual_control_an_edit_is_refused(slapd, mapped_ldap_group, directory, global_admin):
    mapping, old_dn = mapped_ldap_group
    policy.dual_control_set(actor=_verified(global_admin), scope=directory.root, enabled=True)
    with pytest.raises(DomainError) as refused:
        _edit(mapping, global_admin, grant=slapd.add_group("DB-Operators"))
    assert refused.value.code == "conflict" and "Dual control" in refused.value.message
    mapping.refresh_from_db()
    assert mapping.grant == old_dn and not Effect.objects.exists()


@pytest.fixture
def db_owner(directory, open_policy):
    from assignments import services
    from tests.connectors.conftest import SETUP

    role = services.role_definition_create(slug="db-owner", name="db_owner", kind="resource",
                                           actions=["Microsoft.Sql/servers/databases/*"], actor=SETUP)
    directory.roles[role.slug] = role
    return role


def test_another_database_scope_moves_the_postgresql_role_to_its_holders(scratch_pg, pg_target, db_owner, directory,
                                                                        open_policy, activate, relay, global_admin):
    x, y = directory.scope(f"{DATABASES}/x"), directory.scope(f"{DATABASES}/y")
    open_policy("db-owner", x)
    open_policy("db-owner", y)
    pg_role = scratch_pg.role("db_owner")
    mapping = mapping_create(actor=global_admin, target=pg_target, role=db_owner, scope=x, grant=pg_role,
                             mfa_verified_at=timezone.now())
    dana, erin = scratch_pg.login("dana"), scratch_pg.login("erin")
    dana_user, erin_user = directory.user("dana"), directory.user("erin")
    activate(dana_user, directory.grant(dana_user, "db-owner", x, kind="eligible"))
    activate(erin_user, directory.grant(erin_user, "db-owner", y, kind="eligible"))
    relay()
    assert scratch_pg.members(pg_role) == {dana}

    _edit(mapping, global_admin, scope=y)
    remapped = Effect.objects.filter(transition__startswith="remapped:")
    assert sorted((e.action, e.principal.user.username) for e in remapped) == [("grant", "erin"), ("revoke", "dana")]
    relay()
    assert scratch_pg.members(pg_role) == {erin}
    relay()
    assert Effect.objects.filter(transition__startswith="remapped:").count() == 2

    # Options only: nothing to move, one version more; rolling it back is an edit again.
    _edit(mapping, global_admin, options={"terminate_sessions": True}, reason="cut sessions at the end")
    mapping.refresh_from_db()
    assert mapping.options == {"terminate_sessions": True}
    assert Effect.objects.filter(transition__startswith="remapped:").count() == 2
    versions = _versions(mapping)
    assert [v.data["options"] for v in versions] == [{"terminate_sessions": False}, {"terminate_sessions": True}]
    assert versions[-1].reason == "cut sessions at the end" and versions[-1].diff
    policy.version_rollback(actor=_verified(global_admin), kind="connector_mapping", key=versions[-1].key,
                            number=versions[0].number, reason="sessions stay")
    mapping.refresh_from_db()
    assert mapping.options == {"terminate_sessions": False}
    assert Mapping.objects.filter(pk=mapping.pk).exists()  # edited in place, not removed and created again
    assert _versions(mapping)[-1].reason == "Rollback to version 1: sessions stay"
    assert scratch_pg.members(pg_role) == {erin}


def _verified(user):
    return Actor.person(user, mfa_verified_at=timezone.now())

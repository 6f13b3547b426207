"""Bad credentials, an unknown group, an unknown role or login: the activation stands in PIM, the effect
fails with a clear error, the target shows it, and the relay goes on delivering everything else."""

import pytest
from django.utils import timezone

from assignments.access import access_find_grant
from connectors.models import Effect, Target
from connectors.services import mapping_create, target_create, target_test
from core.crypto import seal
from core.errors import DomainError
from notifications.models import OutboxMessage
from tests import slapd as slapd_module

pytestmark = pytest.mark.django_db


def _ldap_target(slapd, admin, *, password=slapd_module.ROOT_PASSWORD, **config):
    return target_create(actor=admin, name="Corporate LDAP", kind="ldap", config=slapd.target_config(**config),
                         secret=password, mfa_verified_at=timezone.now())


def test_bad_bind_password_fails_the_grant_clearly_and_the_relay_goes_on(slapd, db_admins_group, directory,
                                                                         global_admin, activate, relay):
    group_dn = slapd.add_group("DB-Admins")
    target = _ldap_target(slapd, global_admin)
    mapping_create(actor=global_admin, target=target, role=directory.role("group-member"),
                   scope=db_admins_group.group_scope, grant=group_dn, mfa_verified_at=timezone.now())
    Target.objects.filter(pk=target.pk).update(secret_sealed=seal("wrong"))
    slapd.add_user("alice")
    alice = directory.user("alice")

    request = activate(alice, directory.add_member(db_admins_group, alice, kind="eligible"))
    relay()

    effect = Effect.objects.get(action="grant")
    assert effect.status == "failed" and "invalid credentials" in effect.last_error
    target.refresh_from_db()
    assert target.status == "error" and "invalid credentials" in target.status_message
    assert access_find_grant(principal=alice, role=directory.role("group-member"),
                             scope=db_admins_group.group_scope) is not None  # PIM state intact
    assert request.assignment.status == "live"
    # The other rows of the same run were delivered (the activation's notification emails).
    assert not OutboxMessage.objects.filter(status="pending").exclude(channel="connector").exists()
    result = target_test(actor=global_admin, target=target)
    assert not result.ok and "invalid credentials" in result.message


def test_a_mapping_to_a_group_that_does_not_exist_is_refused_on_save(slapd, db_admins_group, directory,
                                                                     global_admin):
    target = _ldap_target(slapd, global_admin)
    with pytest.raises(DomainError) as refused:
        mapping_create(actor=global_admin, target=target, role=directory.role("group-member"),
                       scope=db_admins_group.group_scope, grant=f"cn=nope,{slapd_module.GROUPS}",
                       mfa_verified_at=timezone.now())
    assert refused.value.field == "grant" and "no such object" in refused.value.message
    with pytest.raises(DomainError) as refused:
        mapping_create(actor=global_admin, target=target, role=directory.role("group-member"),
                       scope=db_admins_group.group_scope, grant="not a dn", mfa_verified_at=timezone.now())
    assert "distinguished name" in refused.value.message


def test_a_group_deleted_after_mapping_fails_the_grant_with_its_reason(slapd, db_admins_group, directory,
                                                                       global_admin, activate, relay):
    group_dn = slapd.add_group("DB-Admins")
    target = _ldap_target(slapd, global_admin)
    mapping_create(actor=global_admin, target=target, role=directory.role("group-member"),
                   scope=db_admins_group.group_scope, grant=group_dn, mfa_verified_at=timezone.now())
    conn = slapd.connection()
    conn.delete(group_dn)
    conn.unbind()
    slapd.add_user("bob")
    bob = directory.user("bob")
    activate(bob, directory.add_member(db_admins_group, bob, kind="eligible"))
    relay()
    effect = Effect.objects.get(action="grant")
    assert effect.status == "failed" and "no such object" in effect.last_error


def test_unreachable_host_and_unknown_login_on_postgresql(scratch_pg, db_admins_group, directory, global_admin,
                                                          activate, relay):
    from tests.slapd import free_port

    with pytest.raises(DomainError) as refused:
        target_create(actor=global_admin, name="bad", kind="postgresql",
                      config=scratch_pg.target_config(port=70000), mfa_verified_at=timezone.now())
    assert refused.value.field == "port"
    down = target_create(actor=global_admin, name="down", kind="postgresql",
                         config=scratch_pg.target_config(port=free_port()), mfa_verified_at=timezone.now())
    result = target_test(actor=global_admin, target=down)
    assert not result.ok and "Could not connect" in result.message

    target = target_create(actor=global_admin, name="pg", kind="postgresql", config=scratch_pg.target_config(),
                           mfa_verified_at=timezone.now())
    with pytest.raises(DomainError) as refused:
        mapping_create(actor=global_admin, target=target, role=directory.role("group-member"),
                       scope=db_admins_group.group_scope, grant="no_such_role_here", mfa_verified_at=timezone.now())
    assert "does not exist" in refused.value.message
    pg_role = scratch_pg.role("db_admins")
    mapping_create(actor=global_admin, target=target, role=directory.role("group-member"),
                   scope=db_admins_group.group_scope, grant=pg_role, mfa_verified_at=timezone.now())
    carol = directory.user("carol")  # no login role in PostgreSQL
    activate(carol, directory.add_member(db_admins_group, carol, kind="eligible"))
    relay()
    effect = Effect.objects.get(action="grant")
    assert effect.status == "failed" and "login" in effect.last_error and "does not exist" in effect.last_error

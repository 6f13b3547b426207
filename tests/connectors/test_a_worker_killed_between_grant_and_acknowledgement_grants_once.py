"""A worker that dies after the target applied a grant and before the effect was acknowledged: the row
is claimed again when its lease runs out, the connector finds the grant already there, and the target
ends with exactly one grant (no duplicate, none missing) — on LDAP and on PostgreSQL."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from connectors import effects
from connectors.models import Effect
from notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing after this line runs, no except clause sees it."""


def _die_before_acknowledging(monkeypatch):
    def die(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(effects, "_record_applied", die)


def _relay_after_lease(relay):
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        relay()


def test_ldap_grant_applied_once_after_a_crash(slapd, mapped_ldap_group, db_admins_group, directory, activate,
                                                relay, monkeypatch):
    _, group_dn = mapped_ldap_group
    alice_dn = slapd.add_user("alice")
    alice = directory.user("alice")
    activate(alice, directory.add_member(db_admins_group, alice, kind="eligible"))

    _die_before_acknowledging(monkeypatch)
    with pytest.raises(WorkerKilled):
        relay()
    monkeypatch.undo()
    assert slapd.members(group_dn) == [alice_dn]  # the target changed …
    effect = Effect.objects.get(action="grant")
    assert effect.status == "queued"  # … and nobody recorded it
    assert OutboxMessage.objects.get(pk=effect.outbox_message_id).status == "pending"

    assert relay() == 0  # the dead worker's lease still holds the row
    _relay_after_lease(relay)
    effect.refresh_from_db()
    assert effect.status == "done" and "already a member" in effect.detail and effect.attempts == 2
    assert slapd.members(group_dn) == [alice_dn]


def test_postgresql_grant_applied_once_after_a_crash(scratch_pg, pg_target, db_admins_group, directory,
                                                     global_admin, activate, relay, monkeypatch):
    from connectors.services import mapping_create

    pg_role = scratch_pg.role("db_admins")
    mapping_create(actor=global_admin, target=pg_target, role=directory.role("group-member"),
                   scope=db_admins_group.group_scope, grant=pg_role, mfa_verified_at=timezone.now())
    login = scratch_pg.login("bob")
    bob = directory.user("bob")
    activate(bob, directory.add_member(db_admins_group, bob, kind="eligible"))

    _die_before_acknowledging(monkeypatch)
    with pytest.raises(WorkerKilled):
        relay()
    monkeypatch.undo()
    assert scratch_pg.members(pg_role) == {login}

    _relay_after_lease(relay)
    effect = Effect.objects.get(action="grant")
    assert effect.status == "done" and "already a member" in effect.detail
    assert scratch_pg.members(pg_role) == {login}

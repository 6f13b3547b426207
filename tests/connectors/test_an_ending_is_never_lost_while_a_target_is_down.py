"""A target that is down when a role expires: the revoke is retried with backoff, nothing else is held
up, a high-severity incident opens once it stays unconfirmed past the threshold, and when the target is
back the grant is revoked exactly once."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from alerts.models import Incident
from alerts.services import alert_evaluate
from assignments.sweeps import assignments_expire
from connectors.models import Effect, Target
from core.actors import Actor
from notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_target_down_during_the_expiry_then_back_revokes_exactly_once(slapd, mapped_ldap_group, ldap_target,
                                                                      db_admins_group, directory, activate, relay):
    _, group_dn = mapped_ldap_group
    alice_dn = slapd.add_user("alice")
    alice = directory.user("alice")
    request = activate(alice, directory.add_member(db_admins_group, alice, kind="eligible"), duration_minutes=60)
    relay()
    assert slapd.members(group_dn) == [alice_dn]

    slapd.stop()
    start = timezone.now()
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assignments_expire()
        relay()
        relay()  # the row waits for its backoff: a second run does not try again
    revoke = Effect.objects.get(action="revoke")
    assert (revoke.status, revoke.attempts) == ("queued", 1)
    assert "Could not connect" in revoke.last_error and revoke.first_error_at is not None
    ldap_target.refresh_from_db()
    assert ldap_target.status == Target.Status.ERROR and "Could not connect" in ldap_target.status_message

    # Still down 40 minutes later (some retries more): a high-severity incident.
    with time_machine.travel(start + timedelta(minutes=101), tick=False):
        for _ in range(3):
            relay()
        alert_evaluate(key="connector_effects_overdue", actor=Actor.system("test"))
    incident = Incident.objects.get(alert_key="connector_effects_overdue", is_current=True)
    assert incident.severity == "high" and incident.status == "open" and "not revoked" in incident.title
    attempts_while_down = Effect.objects.get(pk=revoke.pk).attempts
    assert attempts_while_down >= 2

    slapd.start()
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        relay()
        relay()
        alert_evaluate(key="connector_effects_overdue", actor=Actor.system("test"))
    revoke.refresh_from_db()
    assert revoke.status == "done" and revoke.attempts == attempts_while_down + 1
    assert "removed" in revoke.detail
    assert slapd.members(group_dn) == []
    assert Effect.objects.filter(action="revoke").count() == 1
    assert OutboxMessage.objects.get(pk=revoke.outbox_message_id).status == "delivered"
    assert not Incident.objects.filter(alert_key="connector_effects_overdue", status="open").exists()
    assert request.assignment_id is not None

"""An activation with a future start is queued for its start, not before (its SCIM grant effect is due
at the start); a start moved later is followed."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from connectors.models import Effect
from notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_future_start(directory, scim_app, scim_peer, activate, relay):
    alice = directory.user("alice")
    start = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    request = activate(alice, directory.add_member(scim_app.group, alice, kind="eligible"), start_at=start)

    operation = Effect.objects.get(request=request, action="grant")
    assert operation.not_before == start
    assert OutboxMessage.objects.get(pk=operation.outbox_message_id).available_at == start

    relay()
    assert scim_peer.user("alice") is None

    with time_machine.travel(start + timedelta(seconds=5)):
        relay()

    assert scim_peer.member_names(scim_app.group.object_id) == {"alice"}
    operation.refresh_from_db()
    assert operation.status == "done"


def test_a_start_moved_later_is_followed(directory, scim_app, scim_peer, global_admin, relay):
    from assignments.services import assignment_update

    bob = directory.user("bob")
    start = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)
    assignment = directory.grant(bob, "group-member", scim_app.group.group_scope, kind="active", start=start,
                                 end=start + timedelta(days=1))
    later = start + timedelta(days=3)
    assignment_update(actor=global_admin, assignment=assignment, start_at=later, end_at=later + timedelta(days=1))

    old, new = Effect.objects.filter(assignment=assignment, action="grant").order_by("pk")
    assert (old.not_before, new.not_before) == (start, later)
    with time_machine.travel(start + timedelta(minutes=1)):
        relay()  # the grant queued for the old start: not held then, nothing happens
    assert scim_peer.user("bob") is None
    old.refresh_from_db()
    assert old.status == "skipped" and new.status == "queued"

    with time_machine.travel(later + timedelta(minutes=1)):
        relay()
    assert scim_peer.member_names(scim_app.group.object_id) == {"bob"}
    new.refresh_from_db()
    assert new.status == "done"

"""An activation with a future start is queued for its start, not before."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from notifications.models import OutboxMessage
from provisioning.models import ScimOperation

pytestmark = pytest.mark.django_db


def test_future_start(directory, scim_app, scim_peer, activate, relay):
    alice = directory.user("alice")
    start = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    request = activate(alice, directory.add_member(scim_app.group, alice, kind="eligible"), start_at=start)

    operation = ScimOperation.objects.get(request=request)
    assert operation.not_before == start
    assert OutboxMessage.objects.get(channel="scim").available_at == start

    relay()
    assert scim_peer.user("alice") is None

    with time_machine.travel(start + timedelta(seconds=5)):
        relay()

    assert scim_peer.member_names(scim_app.group.object_id) == {"alice"}
    operation.refresh_from_db()
    assert operation.status == "done"

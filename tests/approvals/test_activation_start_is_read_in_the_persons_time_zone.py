"""A future start typed on the activation form is read in the person's zone, and the label says which."""

from datetime import UTC, datetime

import time_machine
from django.urls import reverse

from approvals.models import Request
from assignments.models import User

NOW = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)  # winter: Paris is UTC+1


def test_start_typed_in_paris_time_is_stored_in_utc(client, directory, policy, eligible):
    with time_machine.travel(NOW, tick=False):
        policy("helpdesk-administrator")
        frank = directory.user("frank")
        User.objects.filter(pk=frank.pk).update(time_zone="Europe/Paris")
        grant = eligible(frank)
        client.force_login(frank)
        url = reverse("approvals:activate", args=[grant.pk])
        page = client.get(url).content.decode()
        assert "Start (Europe/Paris)" in page
        response = client.post(url, {"scope": directory.root.pk, "duration_minutes": 60,
                                     "start_at": "2026-01-15T12:00", "justification": "maintenance"})
        assert response.status_code == 302, response.content.decode()[:2000]
    request = Request.objects.get(principal=frank.principal, action=Request.Action.SELF_ACTIVATE)
    assert request.status == Request.Status.SCHEDULED
    assert request.assignment.start_at == datetime(2026, 1, 15, 11, 0, tzinfo=UTC)

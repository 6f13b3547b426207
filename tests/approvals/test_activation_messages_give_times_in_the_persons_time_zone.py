"""The messages after an activation, and its refusals, give times in the person's zone, with the zone's name."""

from datetime import UTC, datetime

import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from assignments.models import User

NOW = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)  # winter: Paris is UTC+1


def _paris_user(directory, policy, eligible):
    policy("helpdesk-administrator")
    frank = directory.user("frank")
    User.objects.filter(pk=frank.pk).update(time_zone="Europe/Paris")
    return frank, eligible(frank)


def test_the_scheduled_activation_message_is_in_paris_time(client, directory, policy, eligible):
    with time_machine.travel(NOW, tick=False):
        frank, grant = _paris_user(directory, policy, eligible)
        client.force_login(frank)
        response = client.post(reverse("approvals:activate", args=[grant.pk]),
                               {"scope": directory.root.pk, "duration_minutes": 60,
                                "start_at": "2026-01-15T12:00", "justification": "maintenance"})
        assert response.status_code == 302, response.content.decode()[:2000]
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "from 2026-01-15 12:00 CET until 2026-01-15 13:00 CET" in text, text
    assert "UTC" not in text


def test_a_refusal_names_the_time_in_paris_time(client, directory, policy, eligible):
    with time_machine.travel(NOW, tick=False):
        frank, grant = _paris_user(directory, policy, eligible)
        grant.__class__.objects.filter(pk=grant.pk).update(start_at=datetime(2026, 1, 16, 9, 0, tzinfo=UTC))
        client.force_login(frank)
        response = client.post(reverse("approvals:activate", args=[grant.pk]),
                               {"scope": directory.root.pk, "duration_minutes": 60,
                                "start_at": "2026-01-15T12:00", "justification": "maintenance"})
    page = response.content.decode()
    assert "starts at 2026-01-16 10:00 CET" in page, page[:3000]

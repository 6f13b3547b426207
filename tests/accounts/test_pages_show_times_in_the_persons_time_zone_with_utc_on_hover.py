"""Pages render times in the person's zone (a profile setting), the UTC time in the <time> element's
`datetime` and `title`; without a zone they stay UTC. The REST API keeps UTC whoever calls it."""

from datetime import UTC, datetime

import time_machine
from django.urls import reverse

from assignments.models import User

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # summer: Paris is UTC+2, New York UTC-4


def _set_zone(user, name):
    User.objects.filter(pk=user.pk).update(time_zone=name)


def test_my_roles_shows_local_time_with_utc_on_hover(client, directory):
    with time_machine.travel(NOW, tick=False):
        alice = directory.user("alice")
        directory.grant(alice, "helpdesk-administrator", kind="eligible", end=datetime(2026, 8, 1, 9, 30, tzinfo=UTC))
        _set_zone(alice, "Europe/Paris")
        client.force_login(alice)
        page = client.get(reverse("approvals:my_roles")).content.decode()
    assert '<time datetime="2026-08-01T09:30:00Z" title="2026-08-01 09:30 UTC">2026-08-01 11:30 CEST</time>' in page
    assert "Times in Europe/Paris" in page


def test_without_a_zone_times_are_utc(client, directory):
    with time_machine.travel(NOW, tick=False):
        bob = directory.user("bob")
        directory.grant(bob, "helpdesk-administrator", kind="eligible", end=datetime(2026, 8, 1, 9, 30, tzinfo=UTC))
        client.force_login(bob)
        page = client.get(reverse("approvals:my_roles")).content.decode()
    assert '<time datetime="2026-08-01T09:30:00Z" title="2026-08-01 09:30 UTC">2026-08-01 09:30 UTC</time>' in page
    assert "Times in UTC" in page
    # Unset: the page asks the browser for its zone, once.
    assert "data-time-zone-unset" in page and "js/timezone.js" in page


def test_the_api_keeps_utc_for_a_person_with_a_zone(client, directory):
    with time_machine.travel(NOW, tick=False):
        carol = directory.user("carol")
        directory.grant(carol, "global-reader")
        _set_zone(carol, "America/New_York")
        client.force_login(carol)
        response = client.get("/api/v1/assignments/")
    assert response.status_code == 200, response.content
    assert "-04:00" not in response.content.decode()

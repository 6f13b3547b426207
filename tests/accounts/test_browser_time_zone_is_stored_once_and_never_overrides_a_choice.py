"""The browser's zone, sent once after sign-in, fills an empty setting only; the person's choice on the
Security page wins and is audited; an unknown zone is a clear 400, nothing stored."""

from django.urls import reverse

from assignments.models import User
from audit.models import AuditEvent


def _zone(user):
    return User.objects.get(pk=user.pk).time_zone


def test_browser_default_then_choice_then_browser_again(client, directory):
    dora = directory.user("dora")
    client.force_login(dora)
    url = reverse("accounts:time_zone")

    assert client.post(url, {"time_zone": "Asia/Tokyo", "source": "browser"}).status_code == 204
    assert _zone(dora) == "Asia/Tokyo"

    response = client.post(url, {"time_zone": "Europe/Berlin"}, follow=True)
    assert b"Times now show in Europe/Berlin" in response.content
    assert _zone(dora) == "Europe/Berlin"

    # Another browser (a laptop abroad) does not override the choice.
    assert client.post(url, {"time_zone": "America/Chicago", "source": "browser"}).status_code == 204
    assert _zone(dora) == "Europe/Berlin"
    page = client.get(reverse("accounts:security")).content.decode()
    assert "data-time-zone-unset" not in page and '<option value="Europe/Berlin" selected>' in page

    events = AuditEvent.objects.filter(action="profile.time_zone").order_by("pk")
    messages = list(events.values_list("message", flat=True))
    assert messages == ["Time zone set to Asia/Tokyo (from the browser).", "Time zone set to Europe/Berlin (chosen)."]


def test_an_unknown_zone_is_refused_with_a_message(client, directory):
    erin = directory.user("erin")
    client.force_login(erin)
    url = reverse("accounts:time_zone")
    response = client.post(url, {"time_zone": "Mars/Olympus", "source": "browser"})
    assert response.status_code == 400 and b"Unknown time zone" in response.content
    response = client.post(url, {"time_zone": "Mars/Olympus"})
    assert response.status_code == 400 and b"Select a valid choice" in response.content
    assert _zone(erin) == ""

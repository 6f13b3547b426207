from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from assignments.models import Assignment


def test_get_only_asks_and_post_removes_after_the_five_minute_rule(directory, pra_client):
    assignment = directory.grant(directory.user("leaver"), "exchange-administrator", kind="eligible")
    url = reverse("assignments:remove", args=[assignment.pk])

    confirm = pra_client.get(url)
    assert confirm.status_code == 200
    assert "Remove assignment #" in confirm.content.decode()
    assert 'name="csrfmiddlewaretoken"' in confirm.content.decode()
    assert Assignment.objects.get(pk=assignment.pk).status == "live"

    too_soon = pra_client.post(url, {"justification": "Left the team"})
    assert too_soon.status_code == 400
    assert "cannot be removed within 5 minutes" in too_soon.content.decode()
    assert Assignment.objects.get(pk=assignment.pk).status == "live"

    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        done = pra_client.post(url, {"justification": "Left the team"}, follow=True)
    assert done.status_code == 200
    assert f"Assignment #{assignment.pk} removed." in done.content.decode()
    assignment.refresh_from_db()
    assert assignment.status == "ended" and assignment.end_reason == "removed"


def test_last_global_administrator_removal_is_refused_with_the_reason(directory, login):
    from assignments.models import Assignment as A

    # Only one active Global Administrator: end the bootstrap emergency accounts' assignments first.
    A.objects.filter(role__slug="global-administrator").update(status="ended", end_reason="removed")
    ga = directory.user("onlyga")
    mine = directory.grant(ga, "global-administrator")
    client = login(ga)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        response = client.post(reverse("assignments:remove", args=[mine.pk]))
    assert response.status_code == 409
    assert "holds the last active Global Administrator assignment" in response.content.decode()


def test_csrf_is_enforced_on_removal(directory, role_admin):
    from django.test import Client

    assignment = directory.grant(directory.user(), "exchange-administrator", kind="eligible")
    client = Client(enforce_csrf_checks=True)
    client.force_login(role_admin)
    assert client.post(reverse("assignments:remove", args=[assignment.pk])).status_code == 403
    assert Assignment.objects.get(pk=assignment.pk).status == "live"

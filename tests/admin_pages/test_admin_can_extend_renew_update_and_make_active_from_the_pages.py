from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from assignments.models import Assignment


def _minute(dt):
    return dt.replace(second=0, microsecond=0)


def _fmt(dt):
    return dt.strftime("%Y-%m-%dT%H:%M")


def test_extend_within_14_days(directory, pra_client):
    soon = directory.grant(directory.user(), "exchange-administrator", kind="eligible",
                           end=timezone.now() + timedelta(days=10))
    new_end = _minute(timezone.now() + timedelta(days=60))
    response = pra_client.post(reverse("assignments:extend", args=[soon.pk]),
                               {"end_at": _fmt(new_end), "justification": "Still needed"})
    assert response.status_code == 302
    assert Assignment.objects.get(pk=soon.pk).end_at == new_end


def test_extend_too_early_is_refused_with_the_rule(directory, pra_client):
    later = directory.grant(directory.user(), "exchange-administrator", kind="eligible",
                            end=timezone.now() + timedelta(days=20))
    response = pra_client.post(reverse("assignments:extend", args=[later.pk]),
                               {"end_at": _fmt(timezone.now() + timedelta(days=60))})
    assert response.status_code == 400
    assert "Only assignments ending within 14 days can be extended." in response.content.decode()


def test_renew_within_30_days_after_expiry(directory, role_admin, login):
    expired = directory.grant(directory.user("renewme"), "exchange-administrator", kind="eligible",
                              end=timezone.now() + timedelta(hours=1))
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        pra_client = login(role_admin)  # a fresh session: the old one has expired by now
        detail = pra_client.get(reverse("assignments:detail", args=[expired.pk])).content.decode()
        assert reverse("assignments:renew", args=[expired.pk]) in detail
        new_end = _minute(timezone.now() + timedelta(days=90))
        response = pra_client.post(reverse("assignments:renew", args=[expired.pk]),
                                   {"end_at": _fmt(new_end), "justification": "Back on the project"})
        assert response.status_code == 302
        renewed = Assignment.objects.get(principal=expired.principal, status="live")
        assert renewed.pk != expired.pk and renewed.end_at == new_end


def test_renew_too_late_is_refused(directory, role_admin, login):
    expired = directory.grant(directory.user(), "exchange-administrator", kind="eligible",
                              end=timezone.now() + timedelta(hours=1))
    with time_machine.travel(timezone.now() + timedelta(days=40)):
        pra_client = login(role_admin)
        response = pra_client.post(reverse("assignments:renew", args=[expired.pk]), {"permanent": "on"})
    assert response.status_code == 400
    assert "Only assignments that ended in the last 30 days can be renewed." in response.content.decode()


def test_update_dates_of_a_scheduled_assignment(directory, pra_client):
    start = timezone.now() + timedelta(days=2)
    scheduled = directory.grant(directory.user(), "exchange-administrator", kind="eligible", start=start,
                                end=start + timedelta(days=5))
    new_start, new_end = _minute(start + timedelta(days=1)), _minute(start + timedelta(days=30))
    page = pra_client.get(reverse("assignments:update", args=[scheduled.pk]))
    assert page.status_code == 200
    response = pra_client.post(reverse("assignments:update", args=[scheduled.pk]),
                               {"start_at": _fmt(new_start), "end_at": _fmt(new_end)})
    assert response.status_code == 302
    scheduled.refresh_from_db()
    assert (scheduled.start_at, scheduled.end_at) == (new_start, new_end)


def test_make_active_one_after_confirmation(directory, pra_client):
    eligible = directory.grant(directory.user("convert"), "exchange-administrator", kind="eligible")
    url = reverse("assignments:make_active", args=[eligible.pk])
    assert pra_client.get(url).status_code == 200
    assert Assignment.objects.get(pk=eligible.pk).status == "live"
    response = pra_client.post(url, {"justification": "PIM rollback"}, follow=True)
    assert response.status_code == 200
    active = Assignment.objects.get(principal=eligible.principal, kind="active", status="live")
    assert f"Active assignment #{active.pk} created from the eligible one." in response.content.decode()

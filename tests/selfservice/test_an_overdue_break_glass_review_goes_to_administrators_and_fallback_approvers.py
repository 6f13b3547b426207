"""A break-glass review still open N hours after the activation escalates, moved there with time-machine:
one high-severity incident emailed to the role's administrators and to the fallback approvers of the
role's approval stages (never the requester), and the reviews pages show it overdue and escalated."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from alerts.models import Incident
from assignments import services as assignment_services
from core.actors import Actor
from notifications.models import OutboxMessage
from selfservice import breakglass
from selfservice.models import BreakGlassReview

SETUP = Actor.system("test-setup")


@pytest.fixture
def glass(directory, requester, policy, approver, rules, eligible, break_glass):
    setting = policy("helpdesk-administrator", approvers=[approver], require_approval=True)
    fallback = directory.user("fallback")
    assignment_services.role_setting_stages_set(
        actor=SETUP, role=directory.role("helpdesk-administrator"), scope=directory.root,
        stages=[dict(approvers=[approver.principal.pk], timeout_minutes=60, escalate_on_timeout=True,
                     fallback_approvers=[fallback.principal.pk, requester.principal.pk])])
    rules(setting, allow_break_glass=True, break_glass_review_hours=3)
    return break_glass(requester, eligible(requester), duration_minutes=240), fallback


def _incident_emails(incident):
    return sorted(OutboxMessage.objects.filter(channel="email", dedupe_key__startswith=f"alert-incident:{incident.pk}:")
                  .values_list("payload__to", flat=True))


def test_after_its_hours_the_review_escalates_to_administrators_and_fallback_approvers(glass, role_admin, requester,
                                                                                      client):
    request, fallback = glass
    review = BreakGlassReview.objects.get(request=request)
    assert review.due_at == review.opened_at + timedelta(hours=3)
    with time_machine.travel(review.due_at - timedelta(seconds=1), tick=False):
        assert breakglass.break_glass_reviews_escalate_due() == 0
    with time_machine.travel(review.due_at, tick=False):
        assert breakglass.break_glass_reviews_escalate_due() == 1
    incident = Incident.objects.get(alert_key="break_glass_review_overdue")
    told = _incident_emails(incident)
    assert role_admin.email in told and fallback.email in told
    assert requester.email not in told  # a fallback approver, but the review is of their own activation
    client.force_login(role_admin)
    listing = client.get(reverse("selfservice:reviews")).content.decode()
    assert "overdue, escalated" in listing and str(request.principal) in listing
    assert client.get(reverse("selfservice:review", args=[review.pk])).status_code == 200


def test_an_overdue_review_the_sweep_has_not_reached_shows_overdue(glass, role_admin, client):
    request, _fallback = glass
    review = BreakGlassReview.objects.get(request=request)
    client.force_login(role_admin)
    with time_machine.travel(review.due_at + timedelta(minutes=1), tick=False):
        listing = client.get(reverse("selfservice:reviews")).content.decode()
    assert "(overdue)" in listing

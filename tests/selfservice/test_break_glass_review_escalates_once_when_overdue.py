"""The post-hoc review of a break-glass activation escalates when it is still open N hours later: a
high-severity incident emailed to the role's administrators, once (two runs at once escalate it once).
Administrators complete it; the requester cannot; "not justified" ends the activation."""

import threading

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from alerts.models import Incident
from assignments.models import Assignment
from audit.models import AuditEvent
from core.errors import DomainError
from notifications.models import OutboxMessage
from selfservice import breakglass as services
from selfservice.models import BreakGlassReview


@pytest.fixture
def glass(requester, policy, approver, rules, eligible, break_glass):
    setting = policy("helpdesk-administrator", approvers=[approver], require_approval=True)
    rules(setting, allow_break_glass=True, break_glass_review_hours=2)
    return break_glass(requester, eligible(requester), duration_minutes=240)


def test_an_open_review_escalates_once_after_its_hours(glass, role_admin):
    review = BreakGlassReview.objects.get(request=glass)
    assert services.break_glass_reviews_escalate_due(now=review.due_at - timezone.timedelta(minutes=1)) == 0
    with time_machine.travel(review.due_at + timezone.timedelta(minutes=1), tick=False):
        assert services.break_glass_reviews_escalate_due() == 1
        assert services.break_glass_reviews_escalate_due() == 0
    review.refresh_from_db()
    assert review.escalated_at is not None and review.status == "open"
    incident = Incident.objects.get(alert_key="break_glass_review_overdue")
    assert incident.severity == "high"
    assert OutboxMessage.objects.filter(channel="email", payload__to=role_admin.email,
                                        dedupe_key__startswith=f"alert-incident:{incident.pk}").exists()
    assert AuditEvent.objects.filter(action="break_glass_review.escalate", correlation_id=glass.pk).count() == 1


def test_a_completed_review_does_not_escalate(glass, role_admin):
    review = BreakGlassReview.objects.get(request=glass)
    services.break_glass_review_complete(actor=role_admin, review=review, outcome="justified",
                                         comment="Confirmed with the on-call lead.")
    with time_machine.travel(review.due_at + timezone.timedelta(hours=1), tick=False):
        assert services.break_glass_reviews_escalate_due() == 0
    with pytest.raises(DomainError) as twice:
        services.break_glass_review_complete(actor=role_admin, review=review, outcome="justified", comment="again")
    assert twice.value.code == "conflict"


def test_the_requester_cannot_review_and_not_justified_ends_the_activation(glass, requester, role_admin):
    review = BreakGlassReview.objects.get(request=glass)
    with pytest.raises(DomainError) as own:
        services.break_glass_review_complete(actor=requester, review=review, outcome="justified", comment="fine")
    assert own.value.code == "forbidden"
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=6), tick=False):
        services.break_glass_review_complete(actor=role_admin, review=review, outcome="unjustified",
                                             comment="No incident on record.")
    glass.assignment.refresh_from_db()
    assert glass.assignment.status == Assignment.Status.ENDED
    assert AuditEvent.objects.filter(action="break_glass_review.complete", after__outcome="unjustified").exists()


@pytest.mark.django_db(transaction=True)
def test_two_escalation_runs_at_once_escalate_once(postgres, glass):
    review = BreakGlassReview.objects.get(request=glass)
    results, barrier = [], threading.Barrier(2)

    def run():
        try:
            barrier.wait(10)
            results.append(services.break_glass_reviews_escalate_due(now=review.due_at + timezone.timedelta(hours=1)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [0, 1]
    assert Incident.objects.filter(alert_key="break_glass_review_overdue").count() == 1

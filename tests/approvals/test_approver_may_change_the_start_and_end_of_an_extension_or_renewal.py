"""Approving an extend or renew, the approver may set another start and end: checked with the
assignments writer's rules under the lock, audited with both the requested and the approved values,
and the requester is told the approved end. An invalid one refuses the approval and records nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from approvals import services
from approvals.models import ApprovalDecision, Request
from assignments.models import Assignment
from audit.models import AuditEvent
from core.errors import DomainError
from notifications.outbox import outbox_relay_once


def _close(a, b):
    return abs(a - b) < timedelta(seconds=5)


def test_extension_approved_with_a_shorter_end_than_asked(directory, requester, role_admin, eligible, later):
    eligibility = eligible(requester, end=later(days=10))
    request = services.request_self_extend(actor=requester, assignment=eligibility, end_at=later(days=90),
                                           justification="project continues")
    done = services.request_approve(actor=role_admin, request=request, end_at=later(days=40), comment="40 days")
    assert done.status == Request.Status.PROVISIONED
    eligibility.refresh_from_db()
    assert _close(eligibility.end_at, later(days=40))
    request.refresh_from_db()
    assert _close(request.end_at, later(days=40)) and "asked: until" in request.status_message
    event = AuditEvent.objects.filter(action="request.approve", correlation_id=request.pk).get()
    assert event.before["end_at"][:10] == later(days=90).isoformat()[:10]
    assert event.after["end_at"][:10] == later(days=40).isoformat()[:10]
    # The requester is told the approved end.
    outbox_relay_once(limit=100)
    told = [m for m in mail.outbox if m.to == [requester.email] and "approved" in m.body]
    assert told and f"{later(days=40):%Y-%m-%d}" in told[-1].body


def test_an_end_the_policy_refuses_refuses_the_approval_and_records_nothing(
        directory, requester, role_admin, policy, eligible, later):
    eligibility = eligible(requester, end=later(days=10))
    policy("helpdesk-administrator", allow_permanent_eligible=False, expire_eligible_after="P3M")
    request = services.request_self_extend(actor=requester, assignment=eligibility, end_at=later(days=40),
                                           justification="project continues")
    with pytest.raises(DomainError) as too_far:
        services.request_approve(actor=role_admin, request=request, end_at=later(days=200))
    assert too_far.value.field == "end_at"
    with pytest.raises(DomainError) as too_soon:
        services.request_approve(actor=role_admin, request=request, end_at=later(days=5))
    assert "later than the current one" in too_soon.value.message
    request.refresh_from_db()
    assert request.status == Request.Status.PENDING_APPROVAL and not ApprovalDecision.objects.filter(
        request=request).exists()
    eligibility.refresh_from_db()
    assert _close(eligibility.end_at, later(days=10))
    assert AuditEvent.objects.filter(action="request.approve", outcome="denied", correlation_id=request.pk).count() == 2


def test_the_start_of_an_assignment_that_has_begun_stays(directory, requester, role_admin, eligible, later):
    eligibility = eligible(requester, end=later(days=10))
    request = services.request_self_extend(actor=requester, assignment=eligibility, end_at=later(days=40),
                                           justification="project continues")
    with pytest.raises(DomainError) as moved:
        services.request_approve(actor=role_admin, request=request, start_at=later(days=1))
    assert moved.value.field == "start_at" and "keeps its start" in moved.value.message


def test_renewal_approved_from_a_later_start_until_another_end(directory, requester, role_admin, eligible, later):
    eligibility = eligible(requester, end=later(days=1))
    with time_machine.travel(timezone.now() + timedelta(days=10)):
        request = services.request_self_renew(actor=requester, assignment=eligibility, end_at=later(days=60),
                                              justification="still on the helpdesk")
        start, end = later(days=12), later(days=50)
        done = services.request_approve(actor=role_admin, request=request, start_at=start, end_at=end)
        assert done.status == Request.Status.PROVISIONED
        renewed = Assignment.objects.get(pk=done.assignment_id)
        assert _close(renewed.start_at, start) and _close(renewed.end_at, end)
        event = AuditEvent.objects.filter(action="request.approve", correlation_id=request.pk).get()
        assert event.before["start_at"] is None and event.after["start_at"][:10] == start.isoformat()[:10]


def test_renewal_start_in_the_past_or_after_the_end_is_refused(directory, requester, role_admin, eligible, later):
    eligibility = eligible(requester, end=later(days=1))
    with time_machine.travel(timezone.now() + timedelta(days=10)):
        request = services.request_self_renew(actor=requester, assignment=eligibility, end_at=later(days=60),
                                              justification="still on the helpdesk")
        with pytest.raises(DomainError) as past:
            services.request_approve(actor=role_admin, request=request, start_at=later(days=-1))
        assert past.value.field == "start_at"
        with pytest.raises(DomainError) as after_end:
            services.request_approve(actor=role_admin, request=request, start_at=later(days=70))
        assert after_end.value.field == "end_at"
        request.refresh_from_db()
        assert request.status == Request.Status.PENDING_APPROVAL


def test_an_activations_dates_are_not_changed_on_approval(directory, policy, activate, approver, later):
    policy("contributor", require_approval=True, approvers=[approver])
    user = directory.user("first")
    request = activate(user, directory.grant(user, "contributor", "/subscriptions/s1", kind="eligible"))
    with pytest.raises(DomainError) as refused:
        services.request_approve(actor=approver, request=request, end_at=later(hours=2))
    assert "extension or a renewal" in refused.value.message
    request.refresh_from_db()
    assert request.status == Request.Status.PENDING_APPROVAL


def test_the_request_page_offers_the_dates_and_applies_them(client, directory, requester, role_admin, eligible,
                                                           policy, later):
    from django.urls import reverse

    eligibility = eligible(requester, end=later(days=10))
    policy("helpdesk-administrator", allow_permanent_eligible=False, expire_eligible_after="P3M")
    request = services.request_self_extend(actor=requester, assignment=eligibility, end_at=later(days=80),
                                           justification="project continues")
    client.force_login(role_admin)
    page = client.get(reverse("approvals:request_detail", args=[request.pk])).content.decode()
    assert 'name="end_at"' in page and f'value="{later(days=80):%Y-%m-%dT%H:%M}"' in page
    assert 'name="start_at"' not in page and "an extension keeps it" in page  # it has begun
    url = reverse("approvals:approve", args=[request.pk])
    response = client.post(url, {"end_at": f"{later(days=120):%Y-%m-%dT%H:%M}"}, follow=True)
    assert response.status_code == 200 and b"The policy of Helpdesk Administrator" in response.content
    response = client.post(url, {"end_at": "not a date"}, follow=True)
    assert response.status_code == 200 and b"End (UTC)" in response.content
    request.refresh_from_db()
    assert request.status == Request.Status.PENDING_APPROVAL
    response = client.post(url, {"end_at": f"{later(days=30):%Y-%m-%dT%H:%M}", "comment": "a month"}, follow=True)
    assert b"You approved" in response.content and b"Approved with another end" in response.content
    eligibility.refresh_from_db()
    assert abs(eligibility.end_at - later(days=30)) < timedelta(minutes=2)

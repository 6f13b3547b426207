"""Where the policy requires approval, activating again while an activation of the same eligibility is
live does not refuse: the request waits for approval like any activation (its stages, in order) and,
once approved, extends that activation to the duration asked from the final approval, within the
policy's maximum as it is then; an activation that ended meanwhile is activated afresh instead."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals.models import Request
from assignments.models import Assignment
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def staged(directory, requester, stages, eligible, activate, approve):
    a, b = directory.user("a"), directory.user("b")
    stages("helpdesk-administrator", [dict(approvers=[a]), dict(approvers=[b])], max_activation_minutes=120)
    eligibility = eligible(requester)
    first = activate(requester, eligibility, duration_minutes=60)
    approve(a, first)
    approve(b, first)
    first.refresh_from_db()
    assert first.status == Request.Status.PROVISIONED
    return a, b, eligibility, first.assignment


def test_the_extension_waits_at_each_stage_then_extends_the_activation(staged, requester, activate, approve):
    a, b, eligibility, activation = staged
    start = timezone.now()
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        again = activate(requester, eligibility, duration_minutes=120, justification="still on the incident")
        assert again.status == Request.Status.PENDING_APPROVAL and again.assignment_id == activation.pk
        assert again.approval_stage.position == 1 and again.status_message.startswith("Extends your active")
        approve(a, again)
        activation.refresh_from_db()
        assert activation.end_at < start + timedelta(minutes=61)  # not extended before the last stage
    with time_machine.travel(start + timedelta(minutes=50), tick=False):
        approve(b, again)
        approved_at = timezone.now()
    again.refresh_from_db()
    activation.refresh_from_db()
    assert again.status == Request.Status.PROVISIONED and again.assignment_id == activation.pk
    assert activation.end_at == approved_at + timedelta(minutes=120)
    assert Assignment.objects.filter(activated_from=eligibility, status="live").count() == 1
    assert AuditEvent.objects.filter(action="assignment.extend", correlation_id=again.pk).exists()


def test_the_policy_maximum_at_approval_bounds_the_extension(staged, requester, activate, approve, policy, approver):
    a, b, eligibility, activation = staged
    again = activate(requester, eligibility, duration_minutes=120)
    approve(a, again)
    policy("helpdesk-administrator", require_approval=True, max_activation_minutes=90)  # tightened meanwhile
    before = Assignment.objects.get(pk=activation.pk).end_at
    approve(b, again)
    again.refresh_from_db()
    assert again.status == Request.Status.FAILED and "at most 1 h" in again.status_message
    assert Assignment.objects.get(pk=activation.pk).end_at == before  # nothing half-applied


def test_an_activation_that_ended_meanwhile_is_activated_afresh(staged, requester, activate, approve):
    a, b, eligibility, activation = staged
    again = activate(requester, eligibility, duration_minutes=90)
    approve(a, again)
    with time_machine.travel(activation.end_at + timedelta(minutes=5), tick=False):
        approve(b, again)
    again.refresh_from_db()
    assert again.status == Request.Status.PROVISIONED and again.assignment_id not in (None, activation.pk)
    assert again.assignment.activated_from_id == eligibility.pk

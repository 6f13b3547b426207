"""When an activation of the same eligibility is already active, activating again extends it within the
policy (Google JIT) instead of refusing, audited as an extension; a role that needs approval waits for it
(see tests/approvals/stages for what its approval does); a future start, a shorter ask or an
administrator's active assignment are still refused as before."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals.models import Request
from assignments.models import Assignment
from audit.models import AuditEvent
from core.errors import DomainError


def test_activating_again_extends_the_activation_within_the_policy(requester, policy, eligible, activate):
    policy("helpdesk-administrator", max_activation_minutes=120)
    eligibility = eligible(requester)
    first = activate(requester, eligibility, duration_minutes=60)
    activation = first.assignment
    with time_machine.travel(timezone.now() + timedelta(minutes=40), tick=False):
        now = timezone.now()
        again = activate(requester, eligibility, duration_minutes=120, justification="still on the incident")
        activation.refresh_from_db()
        assert again.assignment_id == activation.pk and again.status == Request.Status.PROVISIONED
        assert activation.end_at == now + timedelta(minutes=120)
        assert Assignment.objects.filter(activated_from=eligibility, status="live").count() == 1
        assert again.status_message.startswith("Extends your active Helpdesk Administrator")
        event = AuditEvent.objects.get(action="assignment.extend", correlation_id=again.pk)
        assert event.before["end_at"] != event.after["end_at"]
        assert "covered the request" in event.message
        with pytest.raises(DomainError) as too_long:
            activate(requester, eligibility, duration_minutes=180)
        assert too_long.value.field == "duration_minutes"


def test_a_shorter_ask_is_still_refused_and_one_needing_approval_waits_for_it(requester, policy, approver,
                                                                             eligible, activate):
    policy("helpdesk-administrator")
    eligibility = eligible(requester)
    active = activate(requester, eligibility, duration_minutes=120)
    with pytest.raises(DomainError) as shorter:
        activate(requester, eligibility, duration_minutes=30)
    assert shorter.value.code == "conflict" and "already active" in shorter.value.message
    policy("helpdesk-administrator", approvers=[approver], require_approval=True, max_activation_minutes=480)
    waiting = activate(requester, eligibility, duration_minutes=240)  # an extension, through approval
    assert waiting.status == Request.Status.PENDING_APPROVAL and waiting.assignment_id == active.assignment_id


def test_an_administrators_active_assignment_is_not_extended(directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator")
    eligibility = eligible(requester)
    directory.grant(requester, "helpdesk-administrator", end=timezone.now() + timedelta(minutes=30))
    with pytest.raises(DomainError) as error:
        activate(requester, eligibility, duration_minutes=60)
    assert error.value.code == "conflict" and "assigned by an administrator" in error.value.message

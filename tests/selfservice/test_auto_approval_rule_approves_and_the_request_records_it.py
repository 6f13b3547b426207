"""Auto-approval rules: an activation that needs approval is approved at once when every condition of a
rule holds (group membership, time window, ticket pattern, maximum duration); the request says which
rule (status message, waiver row, audit event). MFA and justification are still required."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from approvals.models import Request
from audit.models import AuditEvent
from core.errors import DomainError
from selfservice.models import RequestWaiver


@pytest.fixture
def approval_policy(policy, directory, approver):
    return policy("helpdesk-administrator", approvers=[approver], require_approval=True,
                  require_mfa_on_activation=True, require_justification_on_activation=True)


def test_a_member_of_the_rules_group_is_approved_at_once_and_the_rule_recorded(
        directory, requester, approval_policy, eligible, activate, auto_rule):
    sre = directory.group("SRE")
    directory.add_member(sre, requester)
    rule = auto_rule(approval_policy, name="SRE on duty", group=sre.pk, max_duration_minutes=120)
    done = activate(requester, eligible(requester), duration_minutes=60)
    assert done.status == Request.Status.PROVISIONED and done.assignment is not None
    assert done.status_message.startswith("Approved automatically by the rule “SRE on duty”.")
    waiver = RequestWaiver.objects.get(request=done)
    assert (waiver.kind, waiver.rule_id, waiver.rule_name) == ("auto_approval", rule.pk, "SRE on duty")
    event = AuditEvent.objects.get(action="request.auto_approve", correlation_id=done.pk)
    assert event.after["rule_id"] == rule.pk and event.after["conditions"]["group"] == "SRE"
    assert "SRE on duty" in AuditEvent.objects.get(action="request.self_activate", correlation_id=done.pk).message


def test_a_condition_that_fails_leaves_the_request_waiting_for_approvers(
        directory, requester, approval_policy, eligible, activate, auto_rule):
    sre = directory.group("SRE")
    directory.add_member(sre, requester)
    auto_rule(approval_policy, group=sre.pk, max_duration_minutes=30)
    waiting = activate(requester, eligible(requester), duration_minutes=60)
    assert waiting.status == Request.Status.PENDING_APPROVAL
    assert not RequestWaiver.objects.filter(request=waiting).exists()


def test_not_a_member_waits(directory, requester, approval_policy, eligible, activate, auto_rule):
    auto_rule(approval_policy, group=directory.group("SRE").pk)
    assert activate(requester, eligible(requester)).status == Request.Status.PENDING_APPROVAL


def test_time_window_is_read_in_its_zone_and_ticket_must_match(requester, approval_policy, eligible, activate,
                                                              auto_rule):
    auto_rule(approval_policy, time_windows="Mon-Fri 09:00-17:00", time_windows_zone="Europe/Paris",
              ticket_pattern=r"CHG-\d+")
    with time_machine.travel(datetime(2026, 3, 1, tzinfo=UTC), tick=False):
        eligibility = eligible(requester)
    # Monday 2026-03-02 08:30 UTC is 09:30 in Paris: inside the window.
    with time_machine.travel(datetime(2026, 3, 2, 8, 30, tzinfo=UTC), tick=False):
        wrong_ticket = activate(requester, eligibility, ticket_system="SNOW", ticket_number="INC-1")
        assert wrong_ticket.status == Request.Status.PENDING_APPROVAL
        Request.objects.filter(pk=wrong_ticket.pk).update(status=Request.Status.CANCELED)
        done = activate(requester, eligibility, ticket_system="SNOW", ticket_number="CHG-7")
        assert done.status == Request.Status.PROVISIONED
    # 16:30 UTC is 17:30 in Paris: outside.
    with time_machine.travel(datetime(2026, 3, 2, 16, 30, tzinfo=UTC) + timedelta(hours=2), tick=False):
        later = activate(requester, eligibility, ticket_system="SNOW", ticket_number="CHG-8")
        assert later.status == Request.Status.PENDING_APPROVAL


def test_mfa_and_justification_are_still_required(directory, requester, approval_policy, eligible, activate,
                                                  auto_rule):
    sre = directory.group("SRE")
    directory.add_member(sre, requester)
    auto_rule(approval_policy, group=sre.pk)
    eligibility = eligible(requester)
    with pytest.raises(DomainError) as stale:
        activate(requester, eligibility, mfa_verified_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert "verif" in stale.value.message.lower()
    with pytest.raises(DomainError) as blank:
        activate(requester, eligibility, justification="")
    assert blank.value.field == "justification"
    assert not Request.objects.filter(eligible_assignment=eligibility).exists()


def test_a_rule_needs_a_condition_and_valid_values(approval_policy, auto_rule):
    with pytest.raises(DomainError) as none:
        auto_rule(approval_policy)
    assert "at least one condition" in none.value.message
    with pytest.raises(DomainError) as bad:
        auto_rule(approval_policy, time_windows="weekdays", ticket_pattern="(", time_windows_zone="Mars/Olympus",
                  max_duration_minutes=10_000)
    assert {"allowed_time_windows", "ticket_pattern", "time_windows_zone", "max_duration_minutes"} <= set(
        bad.value.errors)

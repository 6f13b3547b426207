"""Break-glass: where the role's request rules allow it, a requester approves their own activation in an
emergency with a mandatory reason; in the same transaction a high-severity incident is raised and
emailed (through the outbox) to the role's administrators, and a post-hoc review opens, due in the
policy's hours."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts.models import Incident
from approvals.models import Request
from audit.models import AuditEvent
from core.errors import DomainError
from notifications.models import OutboxMessage
from selfservice.models import BreakGlassReview, RequestWaiver


@pytest.fixture
def glass_policy(policy, approver, rules):
    setting = policy("helpdesk-administrator", approvers=[approver], require_approval=True,
                     require_mfa_on_activation=True)
    rules(setting, allow_break_glass=True, break_glass_review_hours=4)
    return setting


def _emails_to(address):
    return OutboxMessage.objects.filter(channel="email", payload__to=address)


def test_break_glass_activates_at_once_alerts_and_opens_the_review(requester, role_admin, glass_policy, eligible,
                                                                   break_glass):
    done = break_glass(requester, eligible(requester), reason="Mail relay down, approvers asleep (INC-7)")
    assert done.status == Request.Status.PROVISIONED and done.assignment.status == "live"
    assert done.justification == "Mail relay down, approvers asleep (INC-7)"
    assert done.status_message.startswith("Break-glass")
    waiver = RequestWaiver.objects.get(request=done)
    assert (waiver.kind, waiver.reason) == ("break_glass", "Mail relay down, approvers asleep (INC-7)")
    review = BreakGlassReview.objects.get(request=done)
    assert review.status == "open" and review.due_at - review.opened_at == timedelta(hours=4)
    incident = Incident.objects.get(alert_key="break_glass_activation")
    assert incident.severity == "high" and incident.role.slug == "helpdesk-administrator"
    assert "Mail relay down" in incident.detail
    assert f"/request-rules/break-glass-reviews/{review.pk}/" in incident.detail
    assert _emails_to(role_admin.email).filter(dedupe_key__startswith=f"alert-incident:{incident.pk}").exists()
    assert not _emails_to(requester.email).filter(dedupe_key__startswith="alert-incident").exists()
    event = AuditEvent.objects.get(action="request.break_glass", correlation_id=done.pk)
    assert event.justification.startswith("Mail relay down") and event.after["review_id"] == review.pk


def test_break_glass_needs_the_policy_a_reason_and_mfa(requester, policy, approver, rules, eligible, break_glass):
    setting = policy("helpdesk-administrator", approvers=[approver], require_approval=True,
                     require_mfa_on_activation=True)
    eligibility = eligible(requester)
    with pytest.raises(DomainError) as not_allowed:
        break_glass(requester, eligibility)
    assert not_allowed.value.code == "forbidden"
    rules(setting, allow_break_glass=True)
    with pytest.raises(DomainError) as no_reason:
        break_glass(requester, eligibility, reason="  ")
    assert no_reason.value.field == "reason"
    with pytest.raises(DomainError) as stale:
        break_glass(requester, eligibility, mfa_verified_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert "verif" in stale.value.message.lower()
    assert not Request.objects.filter(eligible_assignment=eligibility).exists()
    assert not Incident.objects.filter(alert_key="break_glass_activation").exists()
    assert not BreakGlassReview.objects.exists()


def test_a_role_without_approval_is_activated_the_usual_way(requester, policy, rules, eligible, break_glass):
    setting = policy("helpdesk-administrator")
    rules(setting, allow_break_glass=True)
    with pytest.raises(DomainError) as error:
        break_glass(requester, eligible(requester))
    assert "needs no approval" in error.value.message

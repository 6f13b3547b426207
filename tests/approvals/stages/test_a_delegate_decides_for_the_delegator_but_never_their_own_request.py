"""Out of office: an approver delegates for a date range to another user, who then decides what the
delegator may decide, as the delegator (the decision says so, the audit log too); never the delegate's own
request; not before the range starts nor after it ends or is revoked; one decision per effective approver."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import selectors, services
from approvals.models import ApprovalDecision, Request
from audit.models import AuditEvent
from core.errors import DomainError

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(directory, requester, stages):
    boss, deputy, other = directory.user("boss"), directory.user("deputy"), directory.user("other")
    stages("helpdesk-administrator", [dict(approvers=[boss, other], approvals_required=2, timeout_minutes=3 * 24 * 60)])
    return boss, deputy, other


def test_the_delegate_approves_as_the_delegator(directory, requester, world, eligible, activate, approve):
    boss, deputy, other = world
    now = timezone.now()
    delegation = services.delegation_create(actor=boss, delegate=deputy, starts_at=now - timedelta(minutes=1),
                                            ends_at=now + timedelta(days=3), reason="holiday")
    assert AuditEvent.objects.filter(action="delegation.create", target_id=str(delegation.pk)).exists()
    request = activate(requester, eligible(requester))
    assert selectors.approver_can_decide(user=deputy, request=request)
    approve(deputy, request)
    decision = ApprovalDecision.objects.get(request=request)
    assert decision.approver == deputy and decision.on_behalf_of == boss
    assert "For Boss (delegated)" in AuditEvent.objects.filter(action="request.approve").latest("seq").message
    # The boss themselves cannot add a second approval: their vote was cast through the deputy.
    with pytest.raises(DomainError) as refused:
        approve(boss, request)
    assert refused.value.code == "conflict"
    approve(other, request)
    request.refresh_from_db()
    assert request.status == Request.Status.PROVISIONED


def test_never_the_delegates_own_request(directory, world, stages, eligible, activate, approve):
    boss, deputy, _ = world
    now = timezone.now()
    services.delegation_create(actor=boss, delegate=deputy, starts_at=now, ends_at=now + timedelta(days=1))
    own = activate(deputy, eligible(deputy))
    assert not selectors.approver_can_decide(user=deputy, request=own)
    assert own.pk not in {r.pk for r in selectors.request_list_pending_for_approver(user=deputy)}
    with pytest.raises(DomainError) as refused:
        approve(deputy, own)
    assert refused.value.code == "forbidden"


def test_only_within_the_range_and_until_revoked(directory, requester, world, eligible, activate, approve):
    boss, deputy, _ = world
    now = timezone.now()
    delegation = services.delegation_create(actor=boss, delegate=deputy, starts_at=now + timedelta(days=1),
                                            ends_at=now + timedelta(days=2))
    request = activate(requester, eligible(requester))
    assert not selectors.approver_can_decide(user=deputy, request=request), "not started yet"
    with time_machine.travel(now + timedelta(days=1, minutes=1), tick=False):
        assert selectors.approver_can_decide(user=deputy, request=request)
        services.delegation_revoke(actor=boss, delegation=delegation)
        assert not selectors.approver_can_decide(user=deputy, request=request)
        with pytest.raises(DomainError):
            approve(deputy, request)
    assert AuditEvent.objects.filter(action="delegation.revoke", target_id=str(delegation.pk)).exists()


def test_a_delegation_must_go_to_an_enabled_other_user(directory, world):
    from assignments import services as assignment_services
    from tests.approvals.conftest import SETUP

    boss, deputy, other = world
    now = timezone.now()
    with pytest.raises(DomainError) as to_self:
        services.delegation_create(actor=boss, delegate=boss, starts_at=now, ends_at=now + timedelta(days=1))
    assert to_self.value.field == "delegate"
    assignment_services.user_set_enabled(actor=SETUP, user=other, enabled=False)
    with pytest.raises(DomainError) as disabled:
        services.delegation_create(actor=boss, delegate=other.__class__.objects.get(pk=other.pk), starts_at=now,
                                   ends_at=now + timedelta(days=1))
    assert disabled.value.field == "delegate"
    with pytest.raises(DomainError) as backwards:
        services.delegation_create(actor=boss, delegate=deputy, starts_at=now + timedelta(days=1), ends_at=now)
    assert backwards.value.field == "ends_at"
    services.delegation_create(actor=boss, delegate=deputy, starts_at=now, ends_at=now + timedelta(days=2))
    with pytest.raises(DomainError) as overlapping:
        services.delegation_create(actor=boss, delegate=deputy, starts_at=now + timedelta(days=1),
                                   ends_at=now + timedelta(days=3))
    assert overlapping.value.code == "conflict"
    assert AuditEvent.objects.filter(action="delegation.create", outcome="denied").count() == 4

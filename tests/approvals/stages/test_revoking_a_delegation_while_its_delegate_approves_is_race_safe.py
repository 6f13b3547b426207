"""On PostgreSQL: a delegation revoked while its delegate approves. A decision locks the request, then the
delegation; a revocation locks the delegation. Whichever takes the delegation's lock first wins cleanly:
revoked first → the approval (checked before the revocation committed) is refused under the lock; approved
first → the revocation waits, then revokes, and the approval made while it was valid stands."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import services
from approvals.models import ApprovalDecision, ApprovalDelegation, Request

from .race import Outcomes, lock_waiters, wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def delegated(directory, requester, stages, eligible, activate):
    boss, deputy = directory.user("boss"), directory.user("deputy")
    stages("helpdesk-administrator", [dict(approvers=[boss])])
    now = timezone.now()
    delegation = services.delegation_create(actor=boss, delegate=deputy, starts_at=now - timedelta(minutes=1),
                                            ends_at=now + timedelta(days=1))
    return boss, deputy, delegation, activate(requester, eligible(requester))


def _pause_inside(monkeypatch, name, when):
    """Make `approvals.services.<name>` stop, once `when(kwargs)` holds, until released (inside its transaction)."""
    reached, release = threading.Event(), threading.Event()
    original = getattr(services, name)

    def paused(*args, **kwargs):
        result = original(*args, **kwargs)
        if when(kwargs):
            reached.set()
            release.wait(30)
        return result

    monkeypatch.setattr(services, name, paused)
    return reached, release


def test_revoked_first_refuses_the_delegates_approval(postgres, monkeypatch, delegated):
    boss, deputy, delegation, request = delegated
    reached, release = _pause_inside(monkeypatch, "audit_event_record",
                                     lambda kw: kw.get("action") == "delegation.revoke")
    outcomes = Outcomes()
    revoke = outcomes.run("revoke", lambda: services.delegation_revoke(actor=boss, delegation=delegation))
    assert reached.wait(10)  # revoked, not committed yet: the approval's early check still sees it valid
    approve = outcomes.run("approve", lambda: services.request_approve(actor=deputy, request=request))
    assert wait_until(lambda: lock_waiters() >= 1), "the approval never waited for the delegation's lock"
    release.set()
    revoke.join(30)
    approve.join(30)

    assert outcomes == {"revoke": "ok", "approve": "forbidden"}, outcomes
    assert not ApprovalDecision.objects.filter(request=request).exists()
    request.refresh_from_db()
    assert request.status == Request.Status.PENDING_APPROVAL


def test_approved_first_stands_and_the_revocation_follows(postgres, monkeypatch, delegated):
    boss, deputy, delegation, request = delegated
    reached, release = _pause_inside(monkeypatch, "_check_decider_locked", lambda kw: kw["actor"].user == deputy)
    outcomes = Outcomes()
    approve = outcomes.run("approve", lambda: services.request_approve(actor=deputy, request=request))
    assert reached.wait(10)  # the approval holds the request and the delegation
    revoke = outcomes.run("revoke", lambda: services.delegation_revoke(actor=boss, delegation=delegation))
    assert wait_until(lambda: lock_waiters() >= 1), "the revocation never waited for the delegation's lock"
    release.set()
    approve.join(30)
    revoke.join(30)

    assert outcomes == {"approve": "ok", "revoke": "ok"}, outcomes
    decision = ApprovalDecision.objects.get(request=request)
    assert decision.on_behalf_of == boss and decision.approver == deputy
    assert ApprovalDelegation.objects.get(pk=delegation.pk).revoked_at >= decision.decided_at
    request.refresh_from_db()
    assert request.status == Request.Status.PROVISIONED

"""Separation of duties at activation: activating one role of a refuse set while the other is active
at an overlapping scope is refused; once that activation has ended it goes through; a flag set
activates and audits the flag in the activation's transaction."""

import pytest
import time_machine
from django.utils import timezone

from approvals.models import Request
from audit.models import AuditEvent
from core.errors import DomainError
from governance.services import conflict_exception_grant


def _both_eligible(directory, user, scope="/subscriptions/pay"):
    return (directory.grant(user, "payments-submitter", scope, kind="eligible"),
            directory.grant(user, "payments-approver", scope, kind="eligible"))


def test_refuse_set_refuses_activation_while_the_other_role_is_active(directory, conflict_set, activate, global_admin):
    user = directory.user()
    submitter, approver = _both_eligible(directory, user)  # made before the set existed
    made = conflict_set("refuse")
    activate(user, submitter, duration_minutes=60)
    with pytest.raises(DomainError, match="Separation of duties") as refused:
        activate(user, approver)
    assert refused.value.code == "conflict"
    assert not Request.objects.filter(eligible_assignment=approver).exists()
    # An exception lifts the refusal.
    conflict_exception_grant(actor=global_admin, conflict_set=made, principal=user.principal,
                             justification="quarter close", end_at=timezone.now() + timezone.timedelta(days=7),
                             mfa_verified_at=timezone.now())
    assert activate(user, approver).status == Request.Status.PROVISIONED


def test_once_the_other_activation_has_ended_activation_goes_through(directory, conflict_set, activate, policy):
    user = directory.user()
    submitter, approver = _both_eligible(directory, user)
    conflict_set("refuse")
    activate(user, submitter, duration_minutes=60)
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=61)):
        assert activate(user, approver).status == Request.Status.PROVISIONED


def test_flag_set_activates_and_audits_the_flag(directory, conflict_set, activate, policy):
    user = directory.user()
    submitter, approver = _both_eligible(directory, user)
    conflict_set("flag")
    activate(user, submitter)
    request = activate(user, approver)
    assert request.status == Request.Status.PROVISIONED
    assert AuditEvent.objects.filter(action="separation_of_duties.flag", message__contains="activation").exists()


def test_after_approval_the_activation_is_checked_again(directory, conflict_set, activate, policy):
    """The conflicting role got active while the request waited: provisioning refuses (the request fails)."""
    from approvals.services import request_approve

    user, boss = directory.user(), directory.user("boss")
    submitter, approver = _both_eligible(directory, user)
    conflict_set("refuse")
    policy("payments-approver", require_approval=True, approvers=[boss])
    pending = activate(user, approver)
    assert pending.status == Request.Status.PENDING_APPROVAL
    activate(user, submitter)
    decided = request_approve(actor=boss, request=pending)
    decided.refresh_from_db()
    assert decided.status == Request.Status.FAILED
    assert "Separation of duties" in decided.status_message

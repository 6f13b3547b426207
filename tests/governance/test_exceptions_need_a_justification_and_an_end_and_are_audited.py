"""Separation-of-duties exceptions: only directory administrators with a fresh verification grant them,
never to themselves, always with a justification and an end within a year; granting lifts the refusal
until the end, revoking restores it; both are audited, and so is a refused attempt."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from core.errors import DomainError
from governance.services import conflict_exception_grant, conflict_exception_revoke


def test_exception_rules_and_audit(directory, conflict_set, global_admin):
    made = conflict_set("refuse")
    user, nobody = directory.user(), directory.user("nobody")
    directory.grant(user, "payments-submitter", "/subscriptions/pay", kind="eligible")
    now = timezone.now()
    with pytest.raises(DomainError) as missing:
        conflict_exception_grant(actor=global_admin, conflict_set=made, principal=user.principal, justification=" ",
                                 end_at=None, mfa_verified_at=now)
    assert set(missing.value.errors) == {"justification", "end_at"}
    with pytest.raises(DomainError, match="at most a year"):
        conflict_exception_grant(actor=global_admin, conflict_set=made, principal=user.principal, justification="x",
                                 end_at=now + timedelta(days=400), mfa_verified_at=now)
    with pytest.raises(DomainError, match="Verify with your authenticator"):
        conflict_exception_grant(actor=global_admin, conflict_set=made, principal=user.principal, justification="x",
                                 end_at=now + timedelta(days=3))
    with pytest.raises(DomainError, match="Only Global Administrators"):
        conflict_exception_grant(actor=nobody, conflict_set=made, principal=user.principal, justification="x",
                                 end_at=now + timedelta(days=3), mfa_verified_at=now)
    with pytest.raises(DomainError, match="to yourself"):
        conflict_exception_grant(actor=global_admin, conflict_set=made, principal=global_admin.principal,
                                 justification="x", end_at=now + timedelta(days=3), mfa_verified_at=now)
    assert AuditEvent.objects.filter(action="conflict_exception.grant", outcome="denied").count() == 5

    exception = conflict_exception_grant(actor=global_admin, conflict_set=made, principal=user.principal,
                                         justification="month-end close", end_at=now + timedelta(days=3),
                                         mfa_verified_at=now)
    assert AuditEvent.objects.filter(action="conflict_exception.grant", outcome="success",
                                     justification="month-end close").exists()
    directory.grant(user, "payments-approver", "/subscriptions/pay", kind="eligible")  # excepted: allowed

    with time_machine.travel(now + timedelta(days=4)):  # the exception has ended: refused again
        with pytest.raises(DomainError, match="Separation of duties"):
            directory.grant(user, "payments-approver", "/subscriptions/pay/resourceGroups/rg9", kind="eligible")

    conflict_exception_revoke(actor=global_admin, exception=exception, mfa_verified_at=timezone.now())
    assert AuditEvent.objects.filter(action="conflict_exception.revoke", outcome="success").exists()
    with pytest.raises(DomainError, match="already ended or been revoked"):
        conflict_exception_revoke(actor=global_admin, exception=exception, mfa_verified_at=timezone.now())
    with pytest.raises(DomainError, match="Separation of duties"):
        directory.grant(user, "payments-approver", "/subscriptions/pay/resourceGroups/rg2", kind="eligible")

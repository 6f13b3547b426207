from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments import services
from core.errors import DomainError


def test_extend_only_when_ending_within_14_days(directory, role_admin):
    user = directory.user()
    assignment = directory.grant(
        user, "helpdesk-administrator", kind="eligible", end=timezone.now() + timedelta(days=20)
    )
    with pytest.raises(DomainError, match="within 14 days"):
        services.assignment_extend(actor=role_admin, assignment=assignment, end_at=timezone.now() + timedelta(days=60),
                                   mfa_verified_at=timezone.now())
    with time_machine.travel(timezone.now() + timedelta(days=7)):
        extended = services.assignment_extend(
            actor=role_admin, assignment=assignment, end_at=timezone.now() + timedelta(days=60),
            mfa_verified_at=timezone.now()
        )
    assert extended.end_at > assignment.end_at


def test_renew_only_within_30_days_after_the_end(directory, role_admin):
    user = directory.user()
    end = timezone.now() + timedelta(days=2)
    assignment = directory.grant(user, "helpdesk-administrator", kind="eligible", end=end)
    with pytest.raises(DomainError, match="has not ended"):
        services.assignment_renew(actor=role_admin, assignment=assignment, end_at=None, mfa_verified_at=timezone.now())
    with time_machine.travel(end + timedelta(days=31)):
        with pytest.raises(DomainError, match="last 30 days"):
            services.assignment_renew(actor=role_admin, assignment=assignment, end_at=None,
                                      mfa_verified_at=timezone.now())
    with time_machine.travel(end + timedelta(days=29)):
        renewed = services.assignment_renew(
            actor=role_admin, assignment=assignment, end_at=timezone.now() + timedelta(days=90),
            mfa_verified_at=timezone.now()
        )
    assignment.refresh_from_db()
    assert assignment.status == "ended" and assignment.end_reason == "expired"
    assert renewed.pk != assignment.pk and renewed.status == "live"


def test_removed_assignments_are_not_renewable(directory, role_admin):
    user = directory.user()
    assignment = directory.grant(
        user, "helpdesk-administrator", kind="eligible", end=timezone.now() + timedelta(days=2)
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        services.assignment_remove(actor=role_admin, assignment=assignment)
        with pytest.raises(DomainError, match="ended on purpose"):
            services.assignment_renew(actor=role_admin, assignment=assignment, end_at=None,
                                      mfa_verified_at=timezone.now())

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments import services
from audit.models import AuditEvent
from core.errors import DomainError


def test_removing_twice_removes_once(directory, role_admin):
    user = directory.user()
    assignment = directory.grant(user, "helpdesk-administrator", kind="eligible")
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        services.assignment_remove(actor=role_admin, assignment=assignment)
        with pytest.raises(DomainError, match="already ended") as error:
            services.assignment_remove(actor=role_admin, assignment=assignment)
    assert error.value.code == "conflict"
    assert AuditEvent.objects.filter(action="assignment.remove", outcome="success").count() == 1


def test_assigning_the_same_role_twice_is_a_conflict(directory, role_admin):
    user = directory.user()
    kwargs = dict(
        actor=role_admin,
        principal=user.principal,
        role=directory.role("helpdesk-administrator"),
        scope=directory.root,
        kind="eligible",
        mfa_verified_at=timezone.now(),
    )
    services.assignment_create(**kwargs)
    with pytest.raises(DomainError, match="already has an eligible assignment") as error:
        services.assignment_create(**kwargs)
    assert error.value.code == "conflict"


def test_an_expired_assignment_does_not_block_a_new_one(directory, role_admin):
    user = directory.user()
    end = timezone.now() + timedelta(hours=1)
    old = directory.grant(user, "helpdesk-administrator", kind="eligible", end=end)
    with time_machine.travel(end + timedelta(minutes=1)):  # ended; no sweep ran
        new = services.assignment_create(
            actor=role_admin,
            principal=user.principal,
            role=directory.role("helpdesk-administrator"),
            scope=directory.root,
            kind="eligible", mfa_verified_at=timezone.now()
        )
    old.refresh_from_db()
    assert old.status == "ended" and old.end_reason == "expired" and new.status == "live"

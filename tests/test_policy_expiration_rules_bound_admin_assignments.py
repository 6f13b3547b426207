from datetime import timedelta

import pytest
from django.utils import timezone

from assignments import services
from core.errors import DomainError


def _forbid_permanent_eligible(directory, role_admin, role="helpdesk-administrator"):
    services.role_setting_update(
        actor=role_admin,
        role=directory.role(role),
        scope=directory.root,
        values={"allow_permanent_eligible": False, "expire_eligible_after": "P3M"}, mfa_verified_at=timezone.now()
    )


def test_permanent_eligible_allowed_by_default(directory, role_admin):
    user = directory.user()
    assignment = services.assignment_create(
        actor=role_admin,
        principal=user.principal,
        role=directory.role("helpdesk-administrator"),
        scope=directory.root,
        kind="eligible", mfa_verified_at=timezone.now()
    )
    assert assignment.end_at is None


def test_permanent_eligible_refused_when_policy_forbids(directory, role_admin):
    _forbid_permanent_eligible(directory, role_admin)
    user = directory.user()
    with pytest.raises(DomainError, match="does not allow permanent eligible"):
        services.assignment_create(
            actor=role_admin,
            principal=user.principal,
            role=directory.role("helpdesk-administrator"),
            scope=directory.root,
            kind="eligible", mfa_verified_at=timezone.now()
        )


def test_end_beyond_policy_limit_refused_and_within_allowed(directory, role_admin):
    _forbid_permanent_eligible(directory, role_admin)
    user = directory.user()
    kwargs = dict(
        actor=role_admin,
        principal=user.principal,
        role=directory.role("helpdesk-administrator"),
        scope=directory.root,
        kind="eligible",
        mfa_verified_at=timezone.now(),
    )
    with pytest.raises(DomainError, match="limits eligible assignments to 3 months"):
        services.assignment_create(**kwargs, end_at=timezone.now() + timedelta(days=100))
    assert services.assignment_create(**kwargs, end_at=timezone.now() + timedelta(days=80))


def test_active_assignment_needs_justification_when_policy_says(directory, role_admin):
    user = directory.user()
    kwargs = dict(
        actor=role_admin,
        principal=user.principal,
        role=directory.role("helpdesk-administrator"),
        scope=directory.root,
        kind="active",
        mfa_verified_at=timezone.now(),
    )
    with pytest.raises(DomainError, match="requires a justification"):
        services.assignment_create(**kwargs, justification="")
    assert services.assignment_create(**kwargs, justification="Cover for the on-call engineer")


def test_active_assignment_needs_fresh_mfa_when_policy_says(directory, role_admin):
    services.role_setting_update(
        actor=role_admin,
        role=directory.role("helpdesk-administrator"),
        scope=directory.root,
        values={"require_mfa_on_active_assignment": True}, mfa_verified_at=timezone.now()
    )
    user = directory.user()
    kwargs = dict(
        actor=role_admin,
        principal=user.principal,
        role=directory.role("helpdesk-administrator"),
        scope=directory.root,
        kind="active",
        justification="on call",
    )
    with pytest.raises(DomainError, match="multifactor"):
        services.assignment_create(**kwargs, mfa_verified_at=timezone.now() - timedelta(minutes=11))
    assert services.assignment_create(**kwargs, mfa_verified_at=timezone.now() - timedelta(minutes=2))

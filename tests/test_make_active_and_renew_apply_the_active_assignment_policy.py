from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments import services
from core.errors import DomainError


def _require_mfa_on_active(directory, role_admin, slug="exchange-administrator"):
    services.role_setting_update(actor=role_admin, role=directory.role(slug), scope=directory.root,
                                 values={"require_mfa_on_active_assignment": True}, mfa_verified_at=timezone.now())


def test_make_active_needs_fresh_mfa_when_policy_requires_it(directory, role_admin):
    _require_mfa_on_active(directory, role_admin)
    eligible = directory.grant(directory.user(), "exchange-administrator", kind="eligible")
    with pytest.raises(DomainError, match="multifactor"):
        services.assignment_make_active(actor=role_admin, assignment=eligible, justification="rollback")
    active = services.assignment_make_active(actor=role_admin, assignment=eligible, justification="rollback",
                                             mfa_verified_at=timezone.now())
    assert active.kind == "active"


def test_renewing_an_active_assignment_needs_fresh_mfa_when_policy_requires_it(directory, role_admin):
    end = timezone.now() + timedelta(days=1)
    active = directory.grant(directory.user(), "exchange-administrator", end=end)
    _require_mfa_on_active(directory, role_admin)
    with time_machine.travel(end + timedelta(days=1)):
        with pytest.raises(DomainError, match="multifactor"):
            services.assignment_renew(actor=role_admin, assignment=active, end_at=timezone.now() + timedelta(days=5))
        renewed = services.assignment_renew(actor=role_admin, assignment=active,
                                            end_at=timezone.now() + timedelta(days=5), mfa_verified_at=timezone.now())
    assert renewed.status == "live"


def test_far_future_dates_are_refused_cleanly(directory, role_admin):
    user = directory.user()
    far = timezone.now().replace(year=9999)
    with pytest.raises(DomainError, match="year 9000"):
        services.assignment_create(actor=role_admin, principal=user.principal,
                                   role=directory.role("exchange-administrator"), scope=directory.root,
                                   kind="eligible", end_at=far)


def test_only_directory_writers_create_users_groups_and_service_principals(directory, role_admin):
    nobody = directory.user()
    verified = timezone.now()
    for create in (lambda actor: services.user_create(username="newbie", actor=actor, mfa_verified_at=verified),
                   lambda actor: services.group_create(display_name="Ops", actor=actor, mfa_verified_at=verified),
                   lambda actor: services.service_principal_create(display_name="app", actor=actor,
                                                                   mfa_verified_at=verified)):
        with pytest.raises(DomainError, match="not allowed"):
            create(nobody)
        assert create(role_admin)


def test_approvals_required_is_bounded(directory, role_admin):
    with pytest.raises(DomainError, match="between 1 and 25"):
        services.role_setting_update(actor=role_admin, role=directory.role("exchange-administrator"),
                                     scope=directory.root, values={"approvals_required": 40000})

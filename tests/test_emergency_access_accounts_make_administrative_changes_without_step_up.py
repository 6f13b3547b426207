"""Emergency access (break-glass) accounts keep their exemption from MFA requirements (design §2): they
change policies, assign privileged roles and create groups without a step-up. Everyone else needs one."""

import pytest

from assignments import selectors, services
from assignments.models import Assignment, User
from core.errors import DomainError


def test_break_glass_account_is_exempt_and_a_global_administrator_is_not(directory, global_admin):
    break_glass = User.objects.filter(is_emergency_access=True).first()
    ga = directory.role("global-administrator")

    services.role_setting_update(actor=break_glass, role=ga, scope=directory.root,
                                 values={"max_activation_minutes": 120})
    assert selectors.role_setting_effective(role=ga, scope=directory.root).max_activation_minutes == 120
    target = directory.user("target")
    services.assignment_create(actor=break_glass, principal=target.principal, role=ga, scope=directory.root,
                               kind=Assignment.Kind.ELIGIBLE)
    services.group_create(actor=break_glass, display_name="Recovery team")

    with pytest.raises(DomainError) as refused:
        services.role_setting_update(actor=global_admin, role=ga, scope=directory.root,
                                     values={"max_activation_minutes": 60})
    assert refused.value.field == "admin_mfa"
    assert refused.value.message.startswith("Verify with your authenticator again to change the settings of "
                                            "Global Administrator")

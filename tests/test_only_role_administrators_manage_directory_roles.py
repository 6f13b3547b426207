import pytest

from assignments import services
from core.errors import DomainError


@pytest.mark.parametrize("admin_role", ["global-administrator", "privileged-role-administrator"])
def test_directory_admins_can_assign_directory_roles(directory, admin_role):
    admin, target = directory.user(), directory.user()
    directory.grant(admin, admin_role)
    assignment = services.assignment_create(
        actor=admin,
        principal=target.principal,
        role=directory.role("exchange-administrator"),
        scope=directory.root,
        kind="eligible",
    )
    assert assignment.created_by == admin


@pytest.mark.parametrize("other_role", [None, "security-administrator", "global-reader", "user-administrator"])
def test_others_cannot_assign_directory_roles(directory, other_role):
    actor, target = directory.user(), directory.user()
    if other_role:
        directory.grant(actor, other_role)
    with pytest.raises(DomainError, match="not allowed to manage") as error:
        services.assignment_create(
            actor=actor,
            principal=target.principal,
            role=directory.role("exchange-administrator"),
            scope=directory.root,
            kind="eligible",
        )
    assert error.value.code == "forbidden"


def test_eligible_directory_admin_must_activate_first(directory):
    actor, target = directory.user(), directory.user()
    directory.grant(actor, "privileged-role-administrator", kind="eligible")
    with pytest.raises(DomainError, match="not allowed"):
        services.assignment_create(
            actor=actor,
            principal=target.principal,
            role=directory.role("exchange-administrator"),
            scope=directory.root,
            kind="eligible",
        )


def test_directory_admins_do_not_manage_resource_roles_by_default(directory, global_admin):
    target = directory.user()
    with pytest.raises(DomainError, match="not allowed"):
        services.assignment_create(
            actor=global_admin,
            principal=target.principal,
            role=directory.role("reader"),
            scope=directory.scope("/subscriptions/s1"),
            kind="eligible",
        )

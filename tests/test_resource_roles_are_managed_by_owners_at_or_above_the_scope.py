import pytest

from assignments import services
from core.errors import DomainError

SUB = "/subscriptions/s1"
RG = "/subscriptions/s1/resourceGroups/rg1"
OTHER = "/subscriptions/s2"


@pytest.mark.parametrize("admin_role", ["owner", "user-access-administrator"])
def test_owner_or_uaa_at_subscription_manages_resource_group_below(directory, admin_role):
    admin, target = directory.user(), directory.user()
    directory.grant(admin, admin_role, SUB)
    assignment = services.assignment_create(
        actor=admin,
        principal=target.principal,
        role=directory.role("reader"),
        scope=directory.scope(RG),
        kind="eligible",
    )
    assert assignment.scope.path == RG


def test_owner_below_cannot_manage_above_or_elsewhere(directory):
    admin, target = directory.user(), directory.user()
    directory.grant(admin, "owner", RG)
    for path in (SUB, OTHER):
        with pytest.raises(DomainError, match="not allowed"):
            services.assignment_create(
                actor=admin,
                principal=target.principal,
                role=directory.role("reader"),
                scope=directory.scope(path),
                kind="eligible",
            )


def test_contributor_cannot_manage_assignments(directory):
    admin, target = directory.user(), directory.user()
    directory.grant(admin, "contributor", SUB)
    with pytest.raises(DomainError, match="not allowed"):
        services.assignment_create(
            actor=admin,
            principal=target.principal,
            role=directory.role("reader"),
            scope=directory.scope(SUB),
            kind="eligible",
        )


def test_management_group_owner_manages_subscriptions_under_it(directory):
    mg = directory.scope("/providers/Microsoft.Management/managementGroups/corp")
    sub = directory.scope("/subscriptions/s9", parent=mg)
    admin, target = directory.user(), directory.user()
    directory.grant(admin, "owner", mg)
    assert services.assignment_create(
        actor=admin, principal=target.principal, role=directory.role("reader"), scope=sub, kind="eligible"
    )

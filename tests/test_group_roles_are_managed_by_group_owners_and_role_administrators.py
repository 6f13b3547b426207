import pytest

from assignments import services
from core.errors import DomainError


def _add(actor, directory, group, target):
    return services.assignment_create(
        actor=actor,
        principal=target.principal,
        role=directory.role("group-member"),
        scope=group.group_scope,
        kind="eligible",
    )


def test_group_owner_manages_members(directory):
    group, owner, target = directory.group(), directory.user(), directory.user()
    directory.grant(owner, "group-owner", group.group_scope)
    assert _add(owner, directory, group, target).scope == group.group_scope


def test_privileged_role_administrator_manages_any_group(directory, role_admin):
    group, target = directory.group(), directory.user()
    assert _add(role_admin, directory, group, target)


def test_owner_of_another_group_and_members_cannot(directory):
    group, other, actor, target = directory.group(), directory.group(), directory.user(), directory.user()
    directory.grant(actor, "group-owner", other.group_scope)
    directory.add_member(group, actor)
    with pytest.raises(DomainError, match="not allowed"):
        _add(actor, directory, group, target)


def test_group_role_needs_a_group_scope(directory, role_admin):
    target = directory.user()
    with pytest.raises(DomainError, match="group role"):
        services.assignment_create(
            actor=role_admin,
            principal=target.principal,
            role=directory.role("group-member"),
            scope=directory.root,
            kind="eligible",
        )

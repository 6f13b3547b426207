import pytest

from core.errors import DomainError


def test_role_assignable_group_can_hold_directory_role(directory):
    group = directory.group(role_assignable=True)
    assert directory.grant(group, "helpdesk-administrator", kind="eligible").principal == group


def test_ordinary_group_cannot_hold_directory_role(directory):
    group = directory.group(role_assignable=False)
    with pytest.raises(DomainError, match="role-assignable"):
        directory.grant(group, "helpdesk-administrator", kind="eligible")


def test_any_security_group_can_hold_resource_roles(directory):
    group = directory.group(role_assignable=False)
    assert directory.grant(group, "reader", "/subscriptions/s1").principal == group

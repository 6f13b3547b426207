import pytest

from core.errors import DomainError


def test_user_can_be_member_of_group(directory):
    group = directory.group()
    user = directory.user()
    assert directory.add_member(group, user).role.slug == "group-member"


@pytest.mark.parametrize("role", ["group-member", "group-owner"])
def test_group_cannot_be_member_or_owner_of_group(directory, role):
    outer, inner = directory.group(), directory.group()
    with pytest.raises(DomainError, match="cannot be nested"):
        directory.grant(inner, role, outer.group_scope)

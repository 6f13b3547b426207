import pytest
from django.conf import settings
from django.test import override_settings

from core.errors import DomainError


def test_default_limit_is_500():
    assert settings.PIM_MAX_ROLE_ASSIGNABLE_GROUPS == 500


@override_settings(PIM_MAX_ROLE_ASSIGNABLE_GROUPS=2)
def test_creating_past_the_limit_is_refused_but_ordinary_groups_are_not(directory):
    directory.group(role_assignable=True)
    directory.group(role_assignable=True)
    with pytest.raises(DomainError, match="maximum"):
        directory.group(role_assignable=True)
    assert directory.group(role_assignable=False).role_assignable is False

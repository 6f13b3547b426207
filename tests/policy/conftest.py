import pytest
from django.utils import timezone

from core.actors import Actor


@pytest.fixture
def as_verified():
    """`as_verified(user)`: the person with a fresh MFA verification, as privileged changes need."""
    return lambda user: Actor.person(user, mfa_verified_at=timezone.now())


@pytest.fixture
def second_admin(directory):
    """Another active Privileged Role Administrator: the second person of dual control."""
    user = directory.user("second")
    directory.grant(user, "privileged-role-administrator")
    return user

import pytest

from assignments.models import Assignment
from core.errors import DomainError


@pytest.mark.parametrize("minutes", [0, 4, 121, 100000, "abc"])
def test_durations_outside_policy_are_refused_with_a_reason(directory, requester, policy, eligible, activate, minutes):
    policy("helpdesk-administrator", max_activation_minutes=120)
    with pytest.raises(DomainError) as error:
        activate(requester, eligible(requester), duration_minutes=minutes)
    assert error.value.code == "invalid"
    assert error.value.field == "duration_minutes"
    assert not Assignment.objects.filter(principal=requester.principal, kind="active").exists()


def test_the_maximum_itself_is_allowed(directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator", max_activation_minutes=120)
    request = activate(requester, eligible(requester), duration_minutes=120)
    assert request.assignment is not None

import pytest

from core.errors import DomainError


def test_activating_an_active_role_again_is_a_conflict_that_says_extend(
        directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator")
    eligibility = eligible(requester)
    activate(requester, eligibility)
    with pytest.raises(DomainError) as error:
        activate(requester, eligibility)
    assert error.value.code == "conflict"
    assert "already active" in error.value.message and "Extend" in error.value.message

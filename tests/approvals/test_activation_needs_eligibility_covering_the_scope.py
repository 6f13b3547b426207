import pytest

from core.actors import Actor
from core.errors import DomainError

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def test_a_narrower_scope_below_the_eligible_one_is_activated_there(directory, requester, policy, activate):
    rg = directory.scope("/subscriptions/s1/resourceGroups/rg1")
    policy("contributor")
    eligibility = directory.grant(requester, "contributor", "/subscriptions/s1", kind="eligible")
    request = activate(requester, eligibility, scope=rg)
    assert request.assignment.scope_id == rg.pk
    assert request.assignment.activated_from_id == eligibility.pk


def test_a_scope_outside_the_eligible_one_is_refused(directory, requester, policy, activate):
    policy("contributor")
    other = directory.scope("/subscriptions/s2")
    eligibility = directory.grant(requester, "contributor", "/subscriptions/s1", kind="eligible")
    with pytest.raises(DomainError) as error:
        activate(requester, eligibility, scope=other)
    assert error.value.field == "scope"


def test_an_ended_eligibility_cannot_be_activated(directory, requester, policy, eligible, activate, later):
    import time_machine

    policy("helpdesk-administrator")
    eligibility = eligible(requester, end=later(hours=2))
    with time_machine.travel(later(hours=3)):
        with pytest.raises(DomainError) as error:
            activate(requester, eligibility)
    assert error.value.code == "conflict"


def test_leaving_the_group_removes_the_right_to_activate_its_eligibility(directory, requester, policy, activate):
    from assignments import services

    policy("helpdesk-administrator")
    group = directory.group("Helpdesk", role_assignable=True)
    membership = directory.add_member(group, requester)
    group_eligibility = directory.grant(group, "helpdesk-administrator", kind="eligible")
    services.assignment_end(assignment=membership, reason="removed", now=membership.start_at, actor=SETUP)
    with pytest.raises(DomainError) as error:
        activate(requester, group_eligibility)
    assert error.value.code == "forbidden"


def test_the_scope_may_be_given_by_path_and_an_unknown_path_is_a_clear_error(directory, requester, policy, activate):
    directory.scope("/subscriptions/s1/resourceGroups/rg1")
    policy("contributor")
    eligibility = directory.grant(requester, "contributor", "/subscriptions/s1", kind="eligible")
    with pytest.raises(DomainError) as error:
        activate(requester, eligibility, scope="/subscriptions/nope")
    assert error.value.field == "scope" and "/subscriptions/nope" in error.value.message
    request = activate(requester, eligibility, scope="/subscriptions/s1/resourceGroups/rg1")
    assert request.assignment.scope.path == "/subscriptions/s1/resourceGroups/rg1"

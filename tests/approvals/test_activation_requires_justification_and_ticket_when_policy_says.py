import pytest

from core.errors import DomainError


def test_missing_justification_is_refused(directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator", require_justification_on_activation=True)
    with pytest.raises(DomainError) as error:
        activate(requester, eligible(requester), justification="   ")
    assert error.value.field == "justification"


def test_missing_ticket_is_refused_and_a_full_ticket_accepted(directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator", require_ticket_on_activation=True)
    eligibility = eligible(requester)
    with pytest.raises(DomainError) as error:
        activate(requester, eligibility, ticket_system="Jira", ticket_number="")
    assert error.value.field == "ticket_number"
    request = activate(requester, eligibility, ticket_system="Jira", ticket_number="OPS-1")
    assert (request.ticket_system, request.ticket_number) == ("Jira", "OPS-1")
    assert request.assignment.ticket_number == "OPS-1"

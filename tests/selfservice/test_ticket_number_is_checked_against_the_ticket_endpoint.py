"""A ticket endpoint on the network (a real local HTTP server): GET with the ticket number; 2xx is a
valid ticket, 404 an unknown one, any other status or a time-out a clear error on the ticket field.
The outbound URL policy applies: loopback is refused unless its network is allowed."""

import pytest

from approvals.models import Request
from core.errors import DomainError


@pytest.fixture
def ticketed(requester, policy, eligible, rules, local_server):
    setting = policy("helpdesk-administrator", require_ticket_on_activation=True)
    rules(setting, ticket_endpoint_url=local_server.url + "/tickets/{ticket}")
    return eligible(requester)


def test_a_known_ticket_passes_and_the_number_is_sent_encoded(requester, ticketed, activate, local_server):
    local_server.routes["/tickets/OPS%2F1%201"] = (200, b'{"status": "open"}')
    done = activate(requester, ticketed, ticket_system="Jira", ticket_number="OPS/1 1")
    assert done.status == Request.Status.PROVISIONED
    assert local_server.seen == ["/tickets/OPS%2F1%201"]


def test_an_unknown_ticket_is_refused(requester, ticketed, activate, local_server):
    with pytest.raises(DomainError) as error:
        activate(requester, ticketed, ticket_system="Jira", ticket_number="OPS-404")
    assert error.value.field == "ticket_number"
    assert error.value.message == "The ticket system does not know ticket OPS-404."
    assert not Request.objects.filter(eligible_assignment=ticketed).exists()


def test_another_status_is_an_error_naming_it(requester, ticketed, activate, local_server):
    local_server.routes["/tickets/OPS-5"] = (503, b"maintenance")
    with pytest.raises(DomainError) as error:
        activate(requester, ticketed, ticket_system="Jira", ticket_number="OPS-5")
    assert error.value.field == "ticket_number" and "HTTP 503" in error.value.message


def test_a_time_out_is_an_error(requester, ticketed, activate, local_server, settings):
    settings.PIM_TICKET_CHECK_TIMEOUT_SECONDS = 0.3
    local_server.hang.add("/tickets/OPS-9")
    with pytest.raises(DomainError) as error:
        activate(requester, ticketed, ticket_system="Jira", ticket_number="OPS-9")
    assert error.value.field == "ticket_number" and "did not answer within 0.3 seconds" in error.value.message


def test_a_pattern_mismatch_never_reaches_the_endpoint(requester, ticketed, activate, local_server, rules):
    rules(ticketed.role.settings.get(scope__path="/"), ticket_pattern=r"OPS-\d+",
          ticket_endpoint_url=local_server.url + "/tickets/{ticket}")
    with pytest.raises(DomainError):
        activate(requester, ticketed, ticket_system="Jira", ticket_number="../admin")
    assert local_server.seen == []


def test_loopback_is_refused_at_call_time_when_its_network_is_not_allowed(requester, ticketed, activate,
                                                                          local_server, settings):
    settings.PIM_PROVISIONING_ALLOWED_NETWORKS = []
    with pytest.raises(DomainError) as error:
        activate(requester, ticketed, ticket_system="Jira", ticket_number="OPS-1")
    assert error.value.field == "ticket_number" and "cannot be asked" in error.value.message
    assert local_server.seen == []

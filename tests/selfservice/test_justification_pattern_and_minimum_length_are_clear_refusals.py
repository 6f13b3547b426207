"""A role's request rules: the justification's minimum length and pattern (with its hint) and the ticket
number's pattern, refused with a message on the field at fault, every mistake at once."""

import pytest

from approvals.models import Request
from core.errors import DomainError


def test_a_short_or_ill_formed_justification_is_refused_with_the_hint(requester, policy, eligible, activate, rules):
    setting = policy("helpdesk-administrator", require_justification_on_activation=True)
    rules(setting, justification_min_length=20, justification_pattern=r"(INC|CHG)-\d+: .+",
          justification_hint="Write “INC-123: what you will do”.")
    eligibility = eligible(requester)
    with pytest.raises(DomainError) as short:
        activate(requester, eligibility, justification="INC-1: fix")
    assert short.value.field == "justification" and "at least 20 characters" in short.value.message
    assert "INC-123: what you will do" in short.value.message
    with pytest.raises(DomainError) as ill_formed:
        activate(requester, eligibility, justification="I need it for the incident tonight")
    assert ill_formed.value.field == "justification" and "does not have the form" in ill_formed.value.message
    assert not Request.objects.filter(eligible_assignment=eligibility).exists()
    done = activate(requester, eligibility, justification="INC-42: restart the mail relay")
    assert done.status == Request.Status.PROVISIONED


def test_every_mistake_is_reported_at_once(requester, policy, eligible, activate, rules):
    setting = policy("helpdesk-administrator")
    rules(setting, justification_min_length=10, ticket_pattern=r"OPS-\d{1,6}", ticket_hint="Like OPS-123.")
    with pytest.raises(DomainError) as error:
        activate(requester, eligible(requester), justification="short", ticket_system="Jira", ticket_number="X1")
    assert set(error.value.errors) == {"justification", "ticket_number"}
    assert "Like OPS-123." in error.value.errors["ticket_number"][0]


def test_invalid_patterns_and_endpoints_are_refused_when_saved(policy, rules):
    setting = policy("helpdesk-administrator")
    with pytest.raises(DomainError) as error:
        rules(setting, justification_pattern="(unclosed", ticket_endpoint_url="http://tickets.example.com/api",
              break_glass_review_hours=0)
    assert set(error.value.errors) == {"justification_pattern", "ticket_endpoint_url", "break_glass_review_hours"}
    with pytest.raises(DomainError) as loopback:
        rules(setting, ticket_endpoint_url="http://127.0.0.1:8080/tickets/{ticket}")
    assert loopback.value.field == "ticket_endpoint_url" and "loopback" in loopback.value.message


def test_a_rules_change_is_audited_with_before_and_after(policy, rules):
    from audit.models import AuditEvent

    setting = policy("helpdesk-administrator")
    rules(setting, justification_min_length=12)
    event = AuditEvent.objects.filter(action="request_rules.update").latest("id")
    assert event.before["justification_min_length"] == 0 and event.after["justification_min_length"] == 12

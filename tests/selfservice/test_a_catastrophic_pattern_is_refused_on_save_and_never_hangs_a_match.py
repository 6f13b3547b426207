"""Administrators type the justification and ticket patterns: a pattern that backtracks catastrophically
(nested repetition) or is too long is refused when saved, with a message on its field; one that got in
anyway (saved before these checks) is matched with a time limit, so the requester gets a clear error
on the field, and an auto-approval rule with such a pattern approves nothing, never a hung worker."""

import time

import pytest

from approvals.models import Request
from core.errors import DomainError
from selfservice.models import AutoApprovalRule, RequestRules

EVIL = r"(a|aa)+"  # exponential on "aaaa…a!" with a backtracking engine


def test_a_catastrophic_or_overlong_pattern_is_refused_when_saved(policy, rules, auto_rule):
    setting = policy("helpdesk-administrator")
    with pytest.raises(DomainError) as error:
        rules(setting, justification_pattern=EVIL, ticket_pattern="T" * 301)
    assert "backtracks catastrophically" in error.value.errors["justification_pattern"][0]
    assert "300 characters" in error.value.errors["ticket_pattern"][0]
    assert not RequestRules.objects.exists()
    with pytest.raises(DomainError) as rule_error:
        auto_rule(setting, ticket_pattern=r"(\d|\d\d)+")
    assert rule_error.value.field == "ticket_pattern"
    rules(setting, justification_pattern=r"(INC|CHG)-\d+: .+", ticket_pattern=r"OPS-\d{1,6}")  # ordinary ones pass


def test_a_saved_catastrophic_pattern_gives_a_clear_error_within_the_time_limit(requester, policy, eligible,
                                                                               activate, rules, settings):
    settings.PIM_PATTERN_MATCH_TIMEOUT_SECONDS = 0.05
    setting = policy("helpdesk-administrator")
    rules(setting, justification_min_length=1)
    RequestRules.objects.filter(setting=setting).update(justification_pattern=EVIL)  # as saved by an older version
    eligibility = eligible(requester)
    started = time.process_time()
    with pytest.raises(DomainError) as error:
        activate(requester, eligibility, justification="a" * 60 + "!")
    assert time.process_time() - started < 5  # unbounded, this match runs for years
    assert error.value.field == "justification" and "took longer than 0.05 seconds" in error.value.message
    assert not Request.objects.filter(eligible_assignment=eligibility).exists()


def test_an_auto_approval_rule_whose_pattern_runs_out_of_time_approves_nothing(requester, policy, approver,
                                                                               eligible, activate, auto_rule,
                                                                               settings):
    settings.PIM_PATTERN_MATCH_TIMEOUT_SECONDS = 0.05
    setting = policy("helpdesk-administrator", approvers=[approver], require_approval=True)
    rule = auto_rule(setting, ticket_pattern=r"a+!?")
    AutoApprovalRule.objects.filter(pk=rule.pk).update(ticket_pattern=EVIL)
    request = activate(requester, eligible(requester), ticket_system="Jira", ticket_number="a" * 60 + "!")
    assert request.status == Request.Status.PENDING_APPROVAL

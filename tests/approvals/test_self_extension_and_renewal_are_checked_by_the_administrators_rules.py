"""A self-service extension or renewal is checked early by the same rules as the administrator's
extension or renewal (`assignment_extend_validate`, `assignment_renew_validate`): one definition, so a
rule added there is applied to the request before any approver is asked."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import services
from approvals.models import Request
from assignments import services as assignment_services
from core.errors import DomainError, invalid


def test_an_extension_beyond_the_policy_maximum_is_refused_with_the_validators_message(requester, policy, eligible,
                                                                                       later):
    policy("helpdesk-administrator", allow_permanent_eligible=False, expire_eligible_after="P1M")
    eligibility = eligible(requester, end=later(days=3))
    with pytest.raises(DomainError) as early:
        services.request_self_extend(actor=requester, assignment=eligibility, end_at=later(days=60),
                                     justification="project overruns")
    with pytest.raises(DomainError) as validator:
        assignment_services.assignment_extend_validate(assignment=eligibility, end_at=later(days=60),
                                                       now=timezone.now())
    assert early.value.message == validator.value.message
    assert "limits eligible assignments to 1 month" in early.value.message
    assert not Request.objects.filter(action=Request.Action.SELF_EXTEND).exists()


def test_a_rule_added_to_the_extension_validator_applies_to_the_self_service_request(monkeypatch, requester,
                                                                                     policy, eligible, later):
    policy("helpdesk-administrator")
    eligibility = eligible(requester, end=later(days=3))
    validate = assignment_services.assignment_extend_validate

    def with_a_new_rule(**kwargs):
        end_at = validate(**kwargs)
        if end_at is not None and end_at.weekday() == 5:
            raise invalid("Extensions may not end on a Saturday.", field="end_at")
        return end_at

    monkeypatch.setattr(assignment_services, "assignment_extend_validate", with_a_new_rule)
    monkeypatch.setattr(services, "assignment_extend_validate", with_a_new_rule)
    saturday = later(days=10)
    saturday += timedelta(days=(5 - saturday.weekday()) % 7)
    with pytest.raises(DomainError, match="Saturday"):
        services.request_self_extend(actor=requester, assignment=eligibility, end_at=saturday,
                                     justification="project overruns")
    assert not Request.objects.filter(action=Request.Action.SELF_EXTEND).exists()


def test_a_rule_added_to_the_renewal_validator_applies_to_the_self_service_request(monkeypatch, directory, requester,
                                                                                   policy, later):
    policy("helpdesk-administrator")
    expired = directory.grant(requester, "helpdesk-administrator", kind="eligible", end=later(days=1))
    validate = assignment_services.assignment_renew_validate

    def with_a_new_rule(**kwargs):
        start = validate(**kwargs)
        if kwargs["end_at"] is not None and kwargs["end_at"] - start > timedelta(days=60):
            raise invalid("Renewals last at most 60 days.", field="end_at")
        return start

    monkeypatch.setattr(assignment_services, "assignment_renew_validate", with_a_new_rule)
    monkeypatch.setattr(services, "assignment_renew_validate", with_a_new_rule)
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        with pytest.raises(DomainError, match="at most 60 days"):
            services.request_self_renew(actor=requester, assignment=expired, end_at=later(days=90),
                                        justification="still needed")
        request = services.request_self_renew(actor=requester, assignment=expired, end_at=later(days=30),
                                              justification="still needed")
    assert request.status == Request.Status.PENDING_APPROVAL


def test_an_activation_extended_past_its_eligibility_is_refused_early(requester, policy, eligible, activate):
    policy("helpdesk-administrator", max_activation_minutes=480)
    eligibility = eligible(requester, end=timezone.now() + timedelta(hours=2))
    activation = activate(requester, eligibility, duration_minutes=60).assignment
    with pytest.raises(DomainError) as refused:
        services.request_self_extend(actor=requester, assignment=activation, duration_minutes=120,
                                     justification="overrun")
    assert "Your eligibility ends at" in refused.value.message

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import services
from assignments.access import access_find_grant
from assignments.models import Assignment
from audit.models import AuditEvent
from core.errors import DomainError


def test_deactivate_after_five_minutes_ends_the_role_at_once(directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator")
    activation = activate(requester, eligible(requester)).assignment
    with pytest.raises(DomainError) as error:
        services.assignment_deactivate(actor=requester, assignment=activation)
    assert "5 minutes" in error.value.message and "deactivated" in error.value.message

    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        ended = services.assignment_deactivate(actor=requester, assignment=activation, justification="done")
        assert ended.status == Assignment.Status.ENDED and ended.end_reason == "deactivated"
        assert access_find_grant(principal=requester, role="helpdesk-administrator", scope="/") is None
        with pytest.raises(DomainError) as twice:
            services.assignment_deactivate(actor=requester, assignment=activation)
        assert twice.value.code == "conflict"
    assert AuditEvent.objects.filter(action="assignment.deactivate", outcome="success").count() == 1


def test_someone_else_cannot_deactivate_my_activation(directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator")
    activation = activate(requester, eligible(requester)).assignment
    other = directory.user("other")
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        with pytest.raises(DomainError) as error:
            services.assignment_deactivate(actor=other, assignment=activation)
    assert error.value.code == "forbidden"


def test_an_eligible_assignment_is_not_deactivated_by_its_holder(directory, requester, eligible):
    with pytest.raises(DomainError) as error:
        services.assignment_deactivate(actor=requester, assignment=eligible(requester))
    assert error.value.code == "invalid"

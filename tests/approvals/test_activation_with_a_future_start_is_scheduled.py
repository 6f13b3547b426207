from datetime import timedelta

import pytest

from approvals.models import Request
from assignments.access import access_find_grant
from core.errors import DomainError


def test_future_start_is_scheduled_and_held_only_from_then(directory, requester, policy, eligible, activate, later):
    policy("helpdesk-administrator")
    start = later(hours=2)
    request = activate(requester, eligible(requester), start_at=start, duration_minutes=60)
    assert request.status == Request.Status.SCHEDULED
    assert request.assignment.start_at == start
    assert access_find_grant(principal=requester, role="helpdesk-administrator", scope="/") is None
    assert access_find_grant(principal=requester, role="helpdesk-administrator", scope="/", at=start) is not None
    assert access_find_grant(principal=requester, role="helpdesk-administrator", scope="/",
                             at=start + timedelta(minutes=60)) is None


def test_a_start_in_the_past_is_refused(directory, requester, policy, eligible, activate, later):
    policy("helpdesk-administrator")
    with pytest.raises(DomainError) as error:
        activate(requester, eligible(requester), start_at=later(hours=-1))
    assert error.value.field == "start_at"

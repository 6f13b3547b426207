"""A stage of "owners of the scope": whoever holds Owner at or above the request's scope decides it; an
Owner elsewhere does not."""

import pytest

from approvals import selectors
from approvals.models import Request

pytestmark = pytest.mark.django_db


def test_owner_at_or_above_the_scope_decides(directory, requester, stages, eligible, activate, approve):
    sub = directory.scope("/subscriptions/s1")
    rg = directory.scope("/subscriptions/s1/resourceGroups/rg1")
    other = directory.scope("/subscriptions/s2")
    owner_above, owner_elsewhere = directory.user("owner-s1"), directory.user("owner-s2")
    directory.grant(owner_above, "owner", sub)
    directory.grant(owner_elsewhere, "owner", other)
    stages("contributor", [dict(owners_of_scope=True)], scope=sub)
    request = activate(requester, eligible(requester, "contributor", rg))
    assert request.approval_stage is not None
    assert not selectors.approver_can_decide(user=owner_elsewhere, request=request)
    assert selectors.approver_can_decide(user=owner_above, request=request)
    approve(owner_above, request)
    request.refresh_from_db()
    assert request.status == Request.Status.PROVISIONED

"""A denial at stage 1 or at a later stage ends the request: nothing is provisioned, nobody decides after."""

import pytest

from approvals import services
from approvals.models import Request
from assignments.models import Assignment
from core.errors import DomainError

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("at_stage", [1, 2])
def test_denial_ends_the_request(directory, requester, stages, eligible, activate, approve, at_stage):
    first, second, later = directory.user("first"), directory.user("second"), directory.user("third")
    stages("helpdesk-administrator", [dict(approvers=[first]), dict(approvers=[second]), dict(approvers=[later])])
    request = activate(requester, eligible(requester))
    if at_stage == 2:
        approve(first, request)
    denier = first if at_stage == 1 else second
    services.request_deny(actor=denier, request=request, comment="not now")
    request.refresh_from_db()
    assert request.status == Request.Status.DENIED
    assert f"Stage {at_stage}" in request.status_message
    with pytest.raises(DomainError) as refused:
        approve(later, request)
    assert refused.value.code in ("conflict", "forbidden")
    assert not Assignment.objects.filter(principal=requester.principal, kind="active").exists()

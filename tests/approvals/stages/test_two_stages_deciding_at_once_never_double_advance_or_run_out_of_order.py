"""On PostgreSQL: two approvers of the same stage approving at once never advance the request twice (the
second, checked before the first committed, is checked again under the request's lock and refused: the stage
has moved on); deciders of different stages at once never both succeed out of order (a later stage's
approver only decides once the earlier stage has committed its quorum)."""

import pytest

from approvals import services
from approvals.models import ApprovalDecision, Request
from audit.models import AuditEvent

from .race import Outcomes, RowHolder, lock_waiters, wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_two_approvers_of_one_stage_at_once_advance_it_once(postgres, directory, requester, stages, eligible,
                                                            activate):
    x, y, z = directory.user("x"), directory.user("y"), directory.user("z")
    stages("helpdesk-administrator", [dict(approvers=[x, y]), dict(approvers=[z])])
    request = activate(requester, eligible(requester))

    outcomes = Outcomes()
    with RowHolder(Request.objects.filter(pk=request.pk)):
        # Both pass their early check (stage 1 is what is committed) and queue on the request's lock.
        threads = [outcomes.run(u.username, lambda u=u: services.request_approve(actor=u, request=request))
                   for u in (x, y)]
        assert wait_until(lambda: lock_waiters() >= 2), "the approvals never reached the request's lock"
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes.values()) == ["forbidden", "ok"], outcomes
    request.refresh_from_db()
    assert request.status == Request.Status.PENDING_APPROVAL and request.approval_stage.position == 2
    assert list(ApprovalDecision.objects.filter(request=request).values_list("stage_position", flat=True)) == [1]
    assert AuditEvent.objects.filter(action="request.stage_advance", correlation_id=request.pk).count() == 1


def test_a_quorum_of_two_reached_at_once_advances_once(postgres, directory, requester, stages, eligible, activate):
    approvers = [directory.user(f"a{i}") for i in range(4)]
    last = directory.user("last")
    stages("helpdesk-administrator", [dict(approvers=approvers, approvals_required=2), dict(approvers=[last])])
    request = activate(requester, eligible(requester))

    outcomes = Outcomes()
    with RowHolder(Request.objects.filter(pk=request.pk)):
        threads = [outcomes.run(u.username, lambda u=u: services.request_approve(actor=u, request=request))
                   for u in approvers]
        assert wait_until(lambda: lock_waiters() >= 4)
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes.values()) == ["forbidden", "forbidden", "ok", "ok"], outcomes
    request.refresh_from_db()
    assert request.approval_stage.position == 2 and request.status == Request.Status.PENDING_APPROVAL
    assert ApprovalDecision.objects.filter(request=request, stage_position=1).count() == 2
    assert AuditEvent.objects.filter(action="request.stage_advance", correlation_id=request.pk).count() == 1


@pytest.mark.parametrize("round_", range(4))
def test_deciders_of_two_stages_at_once_never_succeed_out_of_order(postgres, directory, requester, stages,
                                                                   eligible, activate, round_):
    first, second = directory.user("first"), directory.user("second")
    stages("helpdesk-administrator", [dict(approvers=[first]), dict(approvers=[second])])
    request = activate(requester, eligible(requester))

    outcomes = Outcomes()
    with RowHolder(Request.objects.filter(pk=request.pk)):
        threads = [outcomes.run("first", lambda: services.request_approve(actor=first, request=request))]
        if round_ % 2:  # the second stage's approver denies, or approves
            threads.append(outcomes.run("second", lambda: services.request_deny(actor=second, request=request,
                                                                                 comment="no")))
        else:
            threads.append(outcomes.run("second", lambda: services.request_approve(actor=second, request=request)))
        assert wait_until(lambda: lock_waiters() >= 1)
    for thread in threads:
        thread.join(30)

    # Stage 2 was not open when its approver asked: refused, and stage 1's approval stands alone.
    assert outcomes == {"first": "ok", "second": "forbidden"}, outcomes
    request.refresh_from_db()
    assert request.status == Request.Status.PENDING_APPROVAL and request.approval_stage.position == 2
    assert list(ApprovalDecision.objects.filter(request=request).values_list("approver__username",
                                                                                 "stage_position")) == [("first", 1)]
    # In order, the second stage's approver now decides it.
    services.request_approve(actor=second, request=request)
    request.refresh_from_db()
    assert request.status == Request.Status.PROVISIONED

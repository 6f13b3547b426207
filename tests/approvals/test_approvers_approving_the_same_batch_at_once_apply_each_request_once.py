"""On PostgreSQL, approvers approving overlapping batches at the same moment (in opposite orders):
each request gets one outcome and one activation, every other attempt reports the conflict."""

import threading

import pytest
from django.db import connection

from approvals import services
from approvals.models import ApprovalDecision, Request
from assignments.models import Assignment


@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_at_once(postgres, directory, policy, activate):
    approvers = [directory.user(f"approver{i}") for i in range(4)]
    policy("contributor", require_approval=True, approvers=approvers)
    requesters = [directory.user(f"req{i}") for i in range(6)]
    requests = [activate(u, directory.grant(u, "contributor", f"/subscriptions/b{i}", kind="eligible"))
                for i, u in enumerate(requesters)]
    ids = [r.pk for r in requests]
    barrier = threading.Barrier(len(approvers))
    outcomes = []

    def run(index, user):
        try:
            barrier.wait()
            order = ids if index % 2 == 0 else list(reversed(ids))
            outcomes.extend(services.request_approve_many(actor=user, request_ids=order))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, u)) for i, u in enumerate(approvers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(outcomes) == len(approvers) * len(ids)
    for request in requests:
        mine = [o for o in outcomes if o.request_id == request.pk]
        assert [o.outcome for o in mine].count("approved") == 1, mine
        assert all(o.outcome == "refused" and ("no longer pending" in o.message or "a moment ago" in o.message
                                               or "already decided" in o.message)
                   for o in mine if o.outcome != "approved"), mine
        request.refresh_from_db()
        assert request.status == Request.Status.PROVISIONED
        assert ApprovalDecision.objects.filter(request=request).count() == 1
        assert Assignment.objects.filter(principal=request.principal, kind="active").count() == 1

"""On PostgreSQL, 20 approvers deciding one request at the same moment: one outcome, one activation."""

import threading

import pytest
from django.db import connection

from approvals import services
from approvals.models import ApprovalDecision, Request
from assignments.models import Assignment
from core.errors import DomainError


def _race(users, request, decide):
    barrier = threading.Barrier(len(users))
    results = []

    def run(user):
        try:
            barrier.wait()
            results.append(("ok", decide(user, request)))
        except DomainError as error:
            results.append((error.code, error.message))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_twenty_approvals_at_once_make_exactly_one_activation(postgres, directory, requester, policy, eligible,
                                                             activate):
    approvers = [directory.user(f"approver{i}") for i in range(20)]
    policy("helpdesk-administrator", require_approval=True, approvers=approvers)
    request = activate(requester, eligible(requester))

    results = _race(approvers, request, lambda u, r: services.request_approve(actor=u, request=r))

    assert sum(1 for kind, _ in results if kind == "ok") == 1
    assert all(kind == "conflict" for kind, _ in results if kind != "ok"), results
    request.refresh_from_db()
    assert request.status == Request.Status.PROVISIONED
    assert Assignment.objects.filter(principal=requester.principal, kind="active").count() == 1
    assert ApprovalDecision.objects.filter(request=request).count() == 1


@pytest.mark.django_db(transaction=True)
def test_approvals_and_denials_racing_give_one_outcome(postgres, directory, requester, policy, eligible, activate):
    approvers = [directory.user(f"approver{i}") for i in range(20)]
    policy("helpdesk-administrator", require_approval=True, approvals_required=3, approvers=approvers)
    request = activate(requester, eligible(requester))

    def decide(user, r):
        if int(user.username.removeprefix("approver")) % 2:
            return services.request_deny(actor=user, request=r, comment="no")
        return services.request_approve(actor=user, request=r)

    _race(approvers, request, decide)

    request.refresh_from_db()
    assert request.status in (Request.Status.PROVISIONED, Request.Status.DENIED)
    activations = Assignment.objects.filter(principal=requester.principal, kind="active").count()
    assert activations == (1 if request.status == Request.Status.PROVISIONED else 0)
    decisions = list(ApprovalDecision.objects.filter(request=request))
    denials = [d for d in decisions if d.decision == "deny"]
    if request.status == Request.Status.DENIED:
        assert len(denials) == 1 and sum(d.decision == "approve" for d in decisions) < 3
    else:
        assert not denials and len(decisions) == 3

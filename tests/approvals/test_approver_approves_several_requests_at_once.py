"""Approvers approve a selected set of requests in one POST: each decided through the same service (its
own rules, transaction and audit event), a result per request, a refusal leaving that request as it
was; one MFA step-up for the batch when one of them needs it."""

from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import ApprovalDecision, Request
from audit.models import AuditEvent
from tests.conftest import mark_mfa_verified


def _three_requests(directory, activate, approver):
    first, second = directory.user("first"), directory.user("second")
    r1 = activate(first, directory.grant(first, "contributor", "/subscriptions/s1", kind="eligible"))
    r2 = activate(second, directory.grant(second, "contributor", "/subscriptions/s2", kind="eligible"))
    # The approver's own request: in the selection (a tampered POST), refused on its own.
    own = activate(approver, directory.grant(approver, "contributor", "/subscriptions/s3", kind="eligible"))
    return r1, r2, own


def test_each_selected_request_is_decided_on_its_own(client, directory, policy, activate, approver):
    policy("contributor", require_approval=True, approvers=[approver])
    r1, r2, own = _three_requests(directory, activate, approver)
    client.force_login(approver)
    page = client.get(reverse("approvals:queue")).content.decode()
    assert page.count('form="bulk-approve"') == 2 and "Approve selected" in page

    response = client.post(reverse("approvals:approve_bulk"),
                           {"ids": [str(r1.pk), str(own.pk), str(r2.pk)], "comment": "batch ok"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('data-testid="bulk-result"') == 3
    assert "2 of 3 selected requests approved" in body
    assert "You cannot approve or deny your own request" in body
    for request in (r1, r2):
        request.refresh_from_db()
        assert request.status == Request.Status.PROVISIONED
        assert AuditEvent.objects.filter(action="request.approve", correlation_id=request.pk,
                                         outcome="success", justification="batch ok").count() == 1
    own.refresh_from_db()
    assert own.status == Request.Status.PENDING_APPROVAL
    assert not ApprovalDecision.objects.filter(request=own).exists()
    assert AuditEvent.objects.filter(action="request.approve", correlation_id=own.pk, outcome="denied").exists()


def test_a_request_decided_meanwhile_is_reported_and_the_rest_go_on(directory, policy, activate, approver):
    policy("contributor", require_approval=True, approvers=[approver])
    other = directory.user("other-approver")
    policy("contributor", require_approval=True, approvers=[approver, other])
    r1, r2, _ = _three_requests(directory, activate, approver)
    services.request_deny(actor=other, request=r1, comment="no")
    outcomes = services.request_approve_many(actor=approver, request_ids=[r1.pk, r2.pk])
    assert [o.outcome for o in outcomes] == ["refused", "approved"]
    assert "no longer pending" in outcomes[0].message


def test_requests_the_approver_cannot_decide_are_not_described(directory, policy, activate, approver):
    policy("contributor", require_approval=True, approvers=[approver])
    stranger = directory.user("stranger")
    r1, _, _ = _three_requests(directory, activate, approver)
    [outcome] = services.request_approve_many(actor=stranger, request_ids=[r1.pk])
    assert outcome.outcome == "refused" and "subscriptions" not in outcome.label + outcome.message


def test_bad_selections_are_a_message_not_an_error(client, directory, approver):
    client.force_login(approver)
    for data in ({}, {"ids": ["not-a-uuid"]}):
        response = client.post(reverse("approvals:approve_bulk"), data, follow=True)
        assert response.status_code == 200
        assert b"Select at least one request" in response.content or b"not a request" in response.content


def test_one_step_up_for_a_batch_with_a_renewal_of_an_active_assignment(
        client, directory, policy, activate, role_admin, requester, later):
    policy("helpdesk-administrator", require_mfa_on_active_assignment=True)
    active = directory.grant(requester, "helpdesk-administrator", kind="active", end=later(days=1))
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        renewal = services.request_self_renew(actor=requester, assignment=active, end_at=later(days=20),
                                              justification="still needed")
        client.force_login(role_admin)
        response = client.post(reverse("approvals:approve_bulk"), {"ids": [str(renewal.pk)], "comment": "ok"})
        assert response.status_code == 302 and reverse("accounts:verify") in response["Location"]
        renewal.refresh_from_db()
        assert renewal.status == Request.Status.PENDING_APPROVAL  # nothing decided before the step-up
        # Back on the queue the selection is as it was.
        page = client.get(reverse("approvals:queue")).content.decode()
        assert f'value="{renewal.pk}" id="select-{renewal.pk}" form="bulk-approve" checked' in page
        mark_mfa_verified(client)
        response = client.post(reverse("approvals:approve_bulk"), {"ids": [str(renewal.pk)], "comment": "ok"})
        assert response.status_code == 200 and b"1 of 1 selected requests approved" in response.content
        renewal.refresh_from_db()
        assert renewal.status == Request.Status.PROVISIONED

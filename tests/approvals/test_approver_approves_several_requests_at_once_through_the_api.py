"""POST /api/v1/approvals/approve/ approves a set of requests as the queue page does: each decided on its
own with the same rules, one outcome per id in the order given, the token's write audited once; a batch
that needs MFA is refused whole for a token (as approving alone is), and bad input is a 400."""

from datetime import timedelta

import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from api import services as api_services
from approvals import services
from approvals.models import Request
from audit.models import AuditEvent

URL = "/api/v1/approvals/approve/"


def _client(user) -> APIClient:
    secret = api_services.token_create_personal(actor=user, name="laptop", mfa_verified_at=timezone.now())[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_each_id_has_its_outcome_and_a_refusal_leaves_the_others(directory, policy, activate, approver):
    policy("contributor", require_approval=True, approvers=[approver])
    first, second = directory.user("first"), directory.user("second")
    r1 = activate(first, directory.grant(first, "contributor", "/subscriptions/s1", kind="eligible"))
    r2 = activate(second, directory.grant(second, "contributor", "/subscriptions/s2", kind="eligible"))
    own = activate(approver, directory.grant(approver, "contributor", "/subscriptions/s3", kind="eligible"))
    unknown = "00000000-0000-4000-8000-000000000000"
    response = _client(approver).post(URL, {"ids": [str(r1.pk), str(own.pk), unknown, str(r2.pk)],
                                            "comment": "batch ok"}, format="json")
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [(r["id"], r["outcome"], r["ok"]) for r in results] == [
        (str(r1.pk), "approved", True), (str(own.pk), "refused", False), (unknown, "refused", False),
        (str(r2.pk), "approved", True)]
    assert "your own request" in results[1]["message"]
    for request in (r1, r2):
        request.refresh_from_db()
        assert request.status == Request.Status.PROVISIONED
        assert AuditEvent.objects.filter(action="request.approve", correlation_id=request.pk,
                                         outcome="success", justification="batch ok").count() == 1
    own.refresh_from_db()
    assert own.status == Request.Status.PENDING_APPROVAL
    write = AuditEvent.objects.get(action="api.write", outcome="success")
    assert write.message.startswith("POST /api/v1/approvals/approve/") and "2 of 4 approved" in write.message


def test_a_batch_needing_mfa_is_refused_whole_for_a_token(directory, policy, role_admin, requester, later):
    policy("helpdesk-administrator", require_mfa_on_active_assignment=True)
    active = directory.grant(requester, "helpdesk-administrator", kind="active", end=later(days=1))
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        renewal = services.request_self_renew(actor=requester, assignment=active, end_at=later(days=20),
                                              justification="still needed")
        response = _client(role_admin).post(URL, {"ids": [str(renewal.pk)]}, format="json")
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["field"] == "mfa"
    renewal.refresh_from_db()
    assert renewal.status == Request.Status.PENDING_APPROVAL
    assert AuditEvent.objects.filter(action="api.write", outcome="denied").count() == 1


def test_bad_input_is_a_400_and_service_principals_are_refused(directory, approver, role_admin):
    client = _client(approver)
    for body in ({}, {"ids": []}, {"ids": ["not-a-uuid"]}, {"ids": "x"},
                 {"ids": ["00000000-0000-4000-8000-000000000000"] * 101},
                 {"ids": ["00000000-0000-4000-8000-000000000000"], "comment": "x" * 2001}):
        response = client.post(URL, body, format="json")
        assert response.status_code == 400, (body, response.json())
    sp = directory.service_principal("bot")
    secret = api_services.token_create_for_service_principal(
        actor=role_admin, service_principal=sp, name="bot", mfa_verified_at=timezone.now())[1]
    bot = APIClient()
    bot.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert bot.post(URL, {"ids": ["00000000-0000-4000-8000-000000000000"]}, format="json").status_code == 403

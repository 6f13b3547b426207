"""Pages: a role administrator sets two stages on the policy's Approval stages page (approvers typed by
name, a mistake shown on its field, nothing saved then); the request page shows each stage, its quorum and
who decided; the queue names the stage; a reader sees the stages but gets no form."""

import pytest
from django.urls import reverse

from approvals.models import Request
from assignments.models import ApprovalStage
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _post(client, role, scope, stages):
    data = {"scope": scope, "reason": "two stages", "stage-TOTAL_FORMS": str(len(stages)), "stage-INITIAL_FORMS": "0",
            "stage-MIN_NUM_FORMS": "0", "stage-MAX_NUM_FORMS": "5"}
    for i, stage in enumerate(stages):
        defaults = {"approvals_required": "1", "timeout_minutes": "60", "fallback_approvals_required": "1"}
        for key, value in {**defaults, **stage}.items():
            data[f"stage-{i}-{key}"] = value
    return client.post(reverse("assignments:role_setting_stages", args=[role.pk]), data)


def test_two_stages_set_on_the_page_then_walked(directory, role_admin, requester, policy, eligible, activate,
                                               verified_client, approve):
    a, b = directory.user("alice"), directory.user("bob")
    directory.user("fallback")
    team = directory.group("Security team")
    directory.add_member(team, b)
    role = directory.role("helpdesk-administrator")
    policy("helpdesk-administrator", require_approval=True)
    client = verified_client(role_admin)
    page = client.get(reverse("assignments:role_setting_stages", args=[role.pk]) + "?scope=/")
    assert page.status_code == 200 and b"Save stages" in page.content

    refused = _post(client, role, "/", [{"approvers": "alice\nnobody-here"}])
    assert refused.status_code == 400 and "nobody-here" in refused.content.decode()
    assert not ApprovalStage.objects.exists()

    saved = _post(client, role, "/", [
        {"name": "Leads", "approvers": "alice", "escalate_on_timeout": "on", "fallback_approvers": "fallback"},
        {"name": "Security", "approvers": "Security team"},
        {"approvers": ""},  # a blank stage is left out
    ])
    assert saved.status_code == 302, saved.content.decode()[:2000]
    stages = list(ApprovalStage.objects.order_by("position"))
    assert [(s.position, s.name, s.escalate_on_timeout) for s in stages] == [(1, "Leads", True), (2, "Security", False)]
    assert list(stages[1].approvers.all()) == [team]
    assert AuditEvent.objects.filter(action="role_setting.stages").count() == 1
    assert b"Stage 1: Leads" in client.get(reverse("assignments:role_setting", args=[role.pk]) + "?scope=/").content

    request = activate(requester, eligible(requester))
    approve(a, request)
    detail = verified_client(b).get(reverse("approvals:request_detail", args=[request.pk])).content.decode()
    assert 'data-testid="request-stages"' in detail
    assert "Stage 1: Leads" in detail and "Alice (approved)" in detail and "1 of 1" in detail
    assert "Stage 2: Security" in detail and "waiting" in detail
    queue = verified_client(b).get(reverse("approvals:queue")).content.decode()
    assert "Stage 2: Security" in queue
    assert Request.objects.get(pk=request.pk).approval_stage == stages[1]


def test_a_reader_sees_the_stages_without_a_form(directory, policy, stages, verified_client):
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    stages("helpdesk-administrator", [dict(approvers=[directory.user("someone")])])
    page = verified_client(reader).get(
        reverse("assignments:role_setting_stages", args=[directory.role("helpdesk-administrator").pk]) + "?scope=/")
    assert page.status_code == 200
    assert b"Stage 1" in page.content and b"Save stages" not in page.content

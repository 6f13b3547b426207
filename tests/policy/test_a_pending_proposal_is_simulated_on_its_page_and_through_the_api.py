"""Simulate before you approve: a pending proposal's page and `POST /api/v1/policy/proposals/<id>/what-if/`
explain the decision on another person's activation as if the proposal were applied, and nothing changes."""

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from assignments.models import RoleSetting
from audit.models import AuditEvent
from core.actors import Actor
from governance.whatif import whatif_explain
from policy import services as policy
from policy.models import ConfigVersion
from policy.registry import KINDS
from tests.conftest import mark_mfa_verified

KEY = "exchange-administrator@/"
ANSWERS = {"justification": "mailbox migration", "ticket_system": "jira", "ticket_number": "MAIL-7"}


def _proposal(directory, role_admin):
    data = {**KINDS["role_setting"].snapshot(KEY), "require_approval": True}
    return policy.proposal_create(actor=Actor.person(role_admin, mfa_verified_at=timezone.now()),
                                  changes=[{"kind": "role_setting", "key": KEY, "data": data}], reason="four eyes")


def test_the_page_and_the_api_explain_the_activation_under_the_proposal(directory, role_admin, global_admin):
    bob = directory.user("bob")
    directory.grant(bob, "exchange-administrator", kind="eligible")
    role = directory.role("exchange-administrator")
    proposal = _proposal(directory, role_admin)
    today = whatif_explain(principal=bob.principal, role=role, scope=directory.root, mfa_verified=True,
                           **ANSWERS)
    assert today.verdict == "activate", today.refusals
    counts = (ConfigVersion.objects.count(), AuditEvent.objects.filter(action="role_setting.update").count())

    client = Client()
    client.force_login(global_admin)
    page = client.get(reverse("policy:proposal", args=[proposal.pk]),
                      {"principal": bob.principal.pk, "role": role.pk, "scope": "/", "mfa_verified": "on", **ANSWERS})
    assert page.status_code == 200
    assert "Would wait for approval." in page.content.decode()

    api = APIClient()
    api.force_login(global_admin)
    mark_mfa_verified(api)
    answer = api.post(f"/api/v1/policy/proposals/{proposal.pk}/what-if/",
                      {"principal": "bob", "role": "exchange-administrator", "scope": "/", "mfa_verified": True,
                       **ANSWERS},
                      format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["verdict"] == "approval" and answer.json()["requirements"]["approval"] is True

    assert not RoleSetting.objects.get(role=role, scope=directory.root).require_approval  # nothing was applied
    assert (ConfigVersion.objects.count(), AuditEvent.objects.filter(action="role_setting.update").count()) == counts

    bad = api.post(f"/api/v1/policy/proposals/{proposal.pk}/what-if/", {"principal": "nobody", "role": "x"},
                   format="json")
    assert bad.status_code == 400
    assert client.get(reverse("policy:proposal", args=[proposal.pk]), {"principal": "x"}).status_code == 400

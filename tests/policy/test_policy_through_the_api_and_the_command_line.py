"""The same through the API (a CI job keeps its policy in git: export, plan, apply) and the management
command; proposals and their decisions through the API; readers read, only administrators write."""

import io

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from assignments.models import RoleSetting
from policy import documents
from policy.models import Proposal
from tests.conftest import mark_mfa_verified


def _client(user):
    client = APIClient()
    client.force_login(user)
    mark_mfa_verified(client)
    return client


def _changed_document(minutes: int) -> str:
    document = yaml.safe_load(documents.config_export_yaml())
    setting = next(s for s in document["role_settings"] if s["role"] == "exchange-administrator")
    setting["max_activation_minutes"] = minutes
    return yaml.safe_dump(document, sort_keys=False)


def test_export_plan_apply_through_the_api(directory, role_admin):
    client = _client(role_admin)
    exported = client.get("/api/v1/policy/export")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("application/yaml")
    clean = client.post("/api/v1/policy/plan", {"document": exported.content.decode()}, format="json")
    assert clean.status_code == 200 and clean.json()["changes"] == []

    text = _changed_document(75)
    plan = client.post("/api/v1/policy/plan", {"document": text}, format="json").json()
    assert [(c["kind"], c["key"], c["action"]) for c in plan["changes"]] == [
        ("role_setting", "exchange-administrator@/", "update")]
    assert "max_activation_minutes" in plan["text"]
    no_reason = client.post("/api/v1/policy/apply", {"document": text}, format="json")
    assert no_reason.status_code == 400 and no_reason.json()["error"]["field"] == "reason"
    applied = client.post("/api/v1/policy/apply", {"document": text, "reason": "CI"}, format="json")
    assert applied.status_code == 200 and applied.json()["applied"] == 1
    again = client.post("/api/v1/policy/apply", {"document": text, "reason": "CI"}, format="json")
    assert again.status_code == 200 and again.json()["applied"] == 0
    versions = client.get("/api/v1/policy/versions/", {"kind": "role_setting", "key": "exchange-administrator@/"})
    assert versions.json()[0]["source"] == "import" and versions.json()[0]["reason"] == "Import: CI"


def test_under_dual_control_the_api_apply_is_a_proposal_a_second_admin_approves(directory, role_admin, second_admin):
    client = _client(role_admin)
    assert client.post("/api/v1/policy/dual-control/", {"scope": "/", "enabled": True},
                       format="json").status_code == 200
    proposed = client.post("/api/v1/policy/apply", {"document": _changed_document(75), "reason": "CI"},
                           format="json")
    assert proposed.status_code == 202
    pk = proposed.json()["proposal"]
    assert client.post(f"/api/v1/policy/proposals/{pk}/approve/", {}, format="json").status_code == 403
    approved = _client(second_admin).post(f"/api/v1/policy/proposals/{pk}/approve/", {"comment": "ok"},
                                          format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "applied"
    again = _client(second_admin).post(f"/api/v1/policy/proposals/{pk}/approve/", {}, format="json")
    assert again.status_code == 409
    assert RoleSetting.objects.get(role__slug="exchange-administrator", scope__path="/").max_activation_minutes == 75


def test_readers_read_and_cannot_write(directory):
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    client = _client(reader)
    assert client.get("/api/v1/policy/export").status_code == 200
    assert client.post("/api/v1/policy/apply", {"document": _changed_document(75), "reason": "x"},
                       format="json").status_code == 403
    nobody = _client(directory.user("nobody"))
    assert nobody.get("/api/v1/policy/export").status_code == 403
    assert nobody.get("/api/v1/policy/proposals/").status_code == 403


def test_bad_documents_are_400_with_a_message(directory, role_admin):
    client = _client(role_admin)
    for text in ("{", "[]", "version: 2", "version: 1\nroles: 3", "version: 1\neligibility:\n- principal: user:x\n"
                 "  role: reader\n  scope: /\n  end_at: yesterday"):
        response = client.post("/api/v1/policy/plan", {"document": text}, format="json")
        assert response.status_code == 400, text
        assert response.json()["error"]["message"]


def test_the_command_exports_plans_and_applies(directory, tmp_path):
    path = tmp_path / "policy.yaml"
    call_command("policy_config", "export", "--output", str(path))
    out = io.StringIO()
    call_command("policy_config", "plan", str(path), stdout=out)
    assert "No changes" in out.getvalue()
    path.write_text(_changed_document(75))
    with pytest.raises(SystemExit) as drift:
        call_command("policy_config", "plan", str(path), stdout=io.StringIO())
    assert drift.value.code == 2
    out = io.StringIO()
    call_command("policy_config", "apply", str(path), "--reason", "from git", stdout=out)
    assert "Applied 1 change" in out.getvalue()
    call_command("policy_config", "plan", str(path), stdout=io.StringIO())  # no exit 2: nothing left
    assert not Proposal.objects.exists()

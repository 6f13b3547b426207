"""The pages: the history with each version's diff and rollback, dual control on and (as a proposal) off,
a proposal made on the propose page and approved by another administrator on its page, and import with a
plan before apply. Bad input is a form error or a message, never a 500."""

import yaml
from django.test import Client

from assignments import services
from assignments.models import RoleSetting
from policy import documents
from policy.models import DualControl, Proposal
from tests.conftest import mark_mfa_verified

KEY = "exchange-administrator@/"


def _client(user):
    client = Client()
    client.force_login(user)
    mark_mfa_verified(client)
    return client


def test_history_rollback_and_a_proposal_decided_on_the_pages(directory, role_admin, second_admin, as_verified):
    services.role_setting_update(actor=as_verified(role_admin), role=directory.role("exchange-administrator"),
                                 scope=directory.root, values={"max_activation_minutes": 90})
    client = _client(role_admin)
    page = client.get("/policy/history/", {"kind": "role_setting", "key": KEY})
    assert page.status_code == 200
    html = page.content.decode()
    assert "max_activation_minutes" in html and "Roll back to version 1" in html
    response = client.post("/policy/history/rollback/", {"kind": "role_setting", "key": KEY, "number": 1,
                                                         "reason": "undo"})
    assert response.status_code == 302
    assert RoleSetting.objects.get(role__slug="exchange-administrator", scope=directory.root
                                   ).max_activation_minutes != 90

    assert client.post("/policy/dual-control/", {"scope": "/", "enabled": "1"}).status_code == 302
    assert DualControl.objects.filter(scope=directory.root).exists()
    data = yaml.safe_dump({**documents.KINDS["role_setting"].snapshot(KEY), "max_activation_minutes": 75})
    response = client.post("/policy/propose/", {"kind": "role_setting", "key": KEY, "data": data, "reason": "why"})
    proposal = Proposal.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/policy/proposals/{proposal.pk}/"
    own = client.get(f"/policy/proposals/{proposal.pk}/").content.decode()
    assert "Withdraw" in own and "Approve and apply" not in own
    other = _client(second_admin)
    assert "Approve and apply" in other.get(f"/policy/proposals/{proposal.pk}/").content.decode()
    assert other.post(f"/policy/proposals/{proposal.pk}/approve/", {"comment": "ok"}).status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == "applied"

    off = client.post("/policy/dual-control/", {"scope": "/", "enabled": "0", "reason": "done"})
    assert off.status_code == 302 and DualControl.objects.filter(scope=directory.root).exists()
    assert Proposal.objects.filter(status="pending", title__startswith="Turn dual control off").exists()


def test_import_shows_the_plan_then_applies(directory, role_admin):
    client = _client(role_admin)
    document = yaml.safe_load(documents.config_export_yaml())
    next(s for s in document["role_settings"] if s["role"] == "exchange-administrator")["max_activation_minutes"] = 75
    text = yaml.safe_dump(document, sort_keys=False)
    planned = client.post("/policy/import/", {"document": text, "action": "plan"})
    assert planned.status_code == 200
    assert "~ role_setting exchange-administrator@/" in planned.content.decode()
    applied = client.post("/policy/import/", {"document": text, "action": "apply", "reason": "from git"})
    assert applied.status_code == 302
    assert RoleSetting.objects.get(role__slug="exchange-administrator", scope=directory.root
                                   ).max_activation_minutes == 75


def test_bad_input_is_a_form_error_or_a_message_never_a_500(directory, role_admin):
    client = _client(role_admin)
    assert client.post("/policy/import/", {"document": "{", "action": "plan"}).status_code == 400
    assert client.post("/policy/propose/", {"kind": "role_setting", "key": "nope", "data": "x: [",
                                            "reason": "r"}).status_code == 400
    assert client.post("/policy/propose/", {"kind": "role_setting", "key": "nope@/", "data": "- 1",
                                            "reason": "r"}).status_code == 400
    assert client.get("/policy/history/", {"kind": "bogus", "key": "x"}).status_code == 404
    assert client.post("/policy/history/rollback/", {"kind": "role_setting", "key": KEY, "number": 999,
                                                     "reason": "r"}).status_code == 404
    assert client.post("/policy/dual-control/", {"scope": "/nope", "enabled": "1"}).status_code == 302
    assert client.post("/policy/proposals/999/approve/").status_code == 404


def test_people_without_a_viewer_role_get_403(directory):
    client = _client(directory.user("nobody"))
    for url in ("/policy/", "/policy/import/", "/policy/export.yaml", "/policy/propose/"):
        assert client.get(url).status_code == 403, url

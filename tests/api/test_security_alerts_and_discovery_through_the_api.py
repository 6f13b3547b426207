"""Security alerts and discovery through the API, with the pages' services and rules: readers read the
catalogue and incidents; directory administrators change settings (administrative token), run alerts,
resolve, dismiss and fix incidents in place; discovery previews and converts permanent active
assignments. Service principals and requesters are refused; bad input is a 400 naming the field."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from alerts.models import Incident
from assignments.models import Assignment, RoleSetting
from audit.models import AuditEvent

from .conftest import bearer

KEY = "roles_without_mfa"


def _post(persona, url, body=None):
    return persona.client().post(url, body or {}, format="json")


def test_readers_read_administrators_run_and_fix(world, admin_p, auditor_p, requester_p, sp_p, directory,
                                                general_token_for):
    catalogue = auditor_p.client().get("/api/v1/alerts/")
    assert catalogue.status_code == 200
    assert KEY in {a["key"] for a in catalogue.json()}
    for persona in (requester_p, sp_p):
        assert persona.client().get("/api/v1/alerts/").status_code == 403
        assert persona.client().get("/api/v1/incidents/").status_code == 403
    assert auditor_p.client().get("/api/v1/alerts/no-such-alert/").status_code == 404
    assert _post(auditor_p, f"/api/v1/alerts/{KEY}/run/").status_code == 403  # readers do not run alerts

    ran = _post(admin_p, f"/api/v1/alerts/{KEY}/run/")
    assert ran.status_code == 200 and ran.json()["key"] == KEY, ran.json()
    listed = auditor_p.client().get("/api/v1/incidents/", {"alert": KEY, "status": "open"}).json()["results"]
    [incident] = listed
    role = directory.role("helpdesk-administrator")  # its policy does not require MFA
    item = next(i for i in incident["items"] if i["role_id"] == role.pk)
    assert auditor_p.client().get("/api/v1/incidents/", {"status": "bogus"}).status_code == 400

    # The incident lists two settings (Helpdesk and User Administrator): the fix names one.
    assert len(incident["items"]) == 2
    no_setting = _post(admin_p, f"/api/v1/incidents/{incident['id']}/fix/", {"fix": "require_mfa"})
    assert no_setting.status_code == 400 and no_setting.json()["error"]["field"] == "setting_id"
    general = bearer(general_token_for(admin_p.user)).post(
        f"/api/v1/incidents/{incident['id']}/fix/", {"fix": "require_mfa", "setting_id": item["data"]["setting_id"]},
        format="json")
    assert general.status_code == 403 and general.json()["error"]["field"] == "admin_mfa"
    fixed = _post(admin_p, f"/api/v1/incidents/{incident['id']}/fix/",
                  {"fix": "require_mfa", "setting_id": item["data"]["setting_id"]})
    assert fixed.status_code == 200, fixed.json()
    assert RoleSetting.objects.get(role=role, scope__path="/").require_mfa_on_activation is True
    assert AuditEvent.objects.filter(action="alert.incident_fix", actor_id=admin_p.user.pk).exists()
    wrong_fix = _post(admin_p, f"/api/v1/incidents/{incident['id']}/fix/", {"fix": "remove", "assignment_id": 1,
                                                                          "justification": "x"})
    assert wrong_fix.status_code in (400, 404, 409)

    # Settings: directory administrators, with an administrative token; thresholds are checked.
    changed = admin_p.client().patch(f"/api/v1/alerts/{KEY}/", {"enabled": False, "reason": "test"}, format="json")
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert auditor_p.client().patch(f"/api/v1/alerts/{KEY}/", {"enabled": True, "reason": "x"},
                                    format="json").status_code == 403
    frequent = admin_p.client().patch("/api/v1/alerts/roles_activated_too_frequently/",
                                      {"thresholds": {"no_such_threshold": 3}, "reason": "test"}, format="json")
    assert frequent.status_code == 400


def test_resolve_and_dismiss_need_a_reason_and_happen_once(world, admin_p, directory):
    from assignments.services import role_setting_update
    from tests.api.conftest import SETUP

    role_setting_update(actor=SETUP, role=directory.role("user-administrator"), scope=directory.root,
                        values={"require_mfa_on_activation": False})
    _post(admin_p, f"/api/v1/alerts/{KEY}/run/")
    incident = Incident.objects.get(alert_key=KEY, status="open")
    no_reason = _post(admin_p, f"/api/v1/incidents/{incident.pk}/dismiss/", {"reason": ""})
    assert no_reason.status_code == 400 and no_reason.json()["error"]["field"] == "reason"
    dismissed = _post(admin_p, f"/api/v1/incidents/{incident.pk}/dismiss/", {"reason": "accepted risk"})
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert _post(admin_p, f"/api/v1/incidents/{incident.pk}/resolve/", {"reason": "x"}).status_code == 409
    assert admin_p.client().get(f"/api/v1/incidents/{incident.pk}/").json()["close_reason"] == "accepted risk"


def test_discovery_previews_then_converts(world, admin_p, auditor_p, general_token_for, directory):
    eve = directory.user("eve")
    standing = directory.grant(eve, "helpdesk-administrator")
    found = admin_p.client().get("/api/v1/discovery/")
    assert found.status_code == 200 and standing.pk in {a["id"] for a in found.json()}
    assert auditor_p.client().get("/api/v1/discovery/").status_code == 403
    body = {"assignments": [standing.pk], "justification": "no standing access"}
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        preview = _post(admin_p, "/api/v1/discovery/preview/", body)
        assert preview.status_code == 200 and preview.json()[0]["problem"] == ""
        assert Assignment.objects.get(pk=standing.pk).status == "live"
        converted = _post(admin_p, "/api/v1/discovery/convert/", body)
        assert converted.status_code == 200 and converted.json()[0]["done"] is True, converted.json()
        again = _post(admin_p, "/api/v1/discovery/convert/", body)
        assert again.status_code == 404  # no longer a permanent active assignment
    assert Assignment.objects.filter(principal=eve.principal, role__slug="helpdesk-administrator", kind="eligible",
                                     status="live").exists()
    assert bearer(general_token_for(admin_p.user)).get("/api/v1/discovery/").status_code == 200

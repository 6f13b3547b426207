"""Who sees and does what on the alert pages, and bad input answered with form errors or 4xx, never 500."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from alerts.definitions import CATALOGUE
from alerts.models import AlertSetting, Incident
from core.actors import Actor

EVALUATED = sum(1 for d in CATALOGUE if not d.event_based and d.evaluate is not None)

ALERTS_JOB = Actor.system("alerts-evaluate")

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


@pytest.fixture
def reader(directory):
    user = directory.user("reader")
    directory.grant(user, "global-reader")
    return user


@pytest.fixture
def incident(directory, global_admin):
    from alerts.services import alert_evaluate

    alert_evaluate(key="too_many_global_admins", actor=ALERTS_JOB)
    return Incident.objects.get(alert_key="too_many_global_admins")


def test_requesters_see_no_alert_page(directory, client, incident):
    client.force_login(directory.user("eve"))
    for url in ("/alerts/security/", "/alerts/security/incidents/", f"/alerts/security/incidents/{incident.pk}/",
                "/alerts/security/a/too_many_global_admins/", "/alerts/dashboard/", "/alerts/discovery/",
                "/alerts/security/emergency-access/"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/alerts/security/incidents/{incident.pk}/resolve/", {"resolve-reason": "x"}).status_code == 403


def test_readers_see_but_cannot_act(reader, client, incident):
    client.force_login(reader)
    assert client.get("/alerts/security/").status_code == 200
    page = client.get(f"/alerts/security/incidents/{incident.pk}/").content.decode()
    assert "Gadmin" in page and "Resolve" not in page
    assert client.post(f"/alerts/security/incidents/{incident.pk}/resolve/",
                       {"resolve-reason": "x"}).status_code == 403
    assert client.post("/alerts/security/a/too_many_global_admins/run/").status_code == 403
    assert client.post("/alerts/security/a/too_many_global_admins/", {"enabled": "on"}).status_code == 403
    incident.refresh_from_db()
    assert incident.status == "open"


def test_menu_entries_follow_capabilities(directory, reader, role_admin, client):
    client.force_login(reader)
    page = client.get("/").content.decode()
    assert 'href="/alerts/security/"' in page and 'href="/alerts/discovery/"' not in page
    client.force_login(role_admin)
    page = client.get("/").content.decode()
    for href in ("/alerts/dashboard/", "/alerts/security/", "/alerts/discovery/"):
        assert f'href="{href}"' in page


def test_bad_input_is_a_form_error_or_4xx(role_admin, client, incident):
    client.force_login(role_admin)
    base = f"/alerts/security/incidents/{incident.pk}"
    assert client.post(f"{base}/dismiss/", {"dismiss-reason": ""}).status_code == 400
    assert client.post(f"{base}/remove/", {"assignment_id": "abc", "justification": "x"}).status_code == 400
    assert client.post(f"{base}/remove/", {"assignment_id": "999999", "justification": "x"}).status_code == 404
    assert client.post(f"{base}/add-approvers/", {"approvers": ["nope"]}).status_code == 400
    assert client.post(f"{base}/require-mfa/").status_code == 400  # this alert does not offer it
    assert client.post(f"{base}/explode/").status_code == 404
    assert client.get(f"{base}/resolve/").status_code == 405
    assert client.get("/alerts/security/incidents/999999/").status_code == 404
    assert client.get("/alerts/security/a/no-such-alert/").status_code == 404
    assert client.get("/alerts/security/incidents/?status=bogus").status_code == 400
    response = client.post("/alerts/security/a/too_many_global_admins/", {"enabled": "on", "min_count": "-1",
                                                                         "min_percent": "ten"})
    assert response.status_code == 400 and "errorlist" in response.content.decode()
    assert AlertSetting.objects.get(key="too_many_global_admins").thresholds == {}  # unchanged


def test_last_protected_admin_refusal_is_shown_not_raised(directory, client):
    from alerts.services import alert_evaluate
    from assignments.services import assignment_record_outside_pim

    pra = directory.user("pra")
    assignment = assignment_record_outside_pim(
        actor=SETUP, assignment=directory.grant(pra, "privileged-role-administrator"), before=None)
    alert_evaluate(key="roles_assigned_outside_pim", actor=ALERTS_JOB)
    incident = Incident.objects.get(alert_key="roles_assigned_outside_pim")
    client.force_login(pra)
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        response = client.post(f"/alerts/security/incidents/{incident.pk}/remove/",
                               {"assignment_id": assignment.pk, "justification": "x"})
    assert response.status_code == 409
    assert "last active Privileged Role Administrator" in response.content.decode()


def test_resolve_through_the_page(role_admin, client, incident):
    client.force_login(role_admin)
    response = client.post(f"/alerts/security/incidents/{incident.pk}/resolve/", {"resolve-reason": "handled"})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.close_reason) == ("resolved", "handled")


def test_run_now_and_run_all(role_admin, client, incident):
    from alerts.models import AlertRun

    client.force_login(role_admin)
    assert client.post("/alerts/security/a/too_many_global_admins/run/").status_code == 302
    assert AlertRun.objects.filter(trigger="manual", ran_by=role_admin).count() == 1
    assert client.post("/alerts/security/run/").status_code == 302
    assert AlertRun.objects.filter(trigger="manual").count() == 1 + EVALUATED  # every evaluated alert


def test_no_fix_on_a_closed_incident(directory, role_admin, client, incident):
    from alerts.services import incident_resolve

    incident_resolve(actor=role_admin, incident=incident, reason="handled")
    ga = incident.affected[0]["assignment_id"]
    client.force_login(role_admin)
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        response = client.post(f"/alerts/security/incidents/{incident.pk}/remove/",
                               {"assignment_id": ga, "justification": "x"})
    assert response.status_code == 409

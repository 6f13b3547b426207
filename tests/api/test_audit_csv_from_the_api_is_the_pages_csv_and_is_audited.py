"""The API's audit CSV is the page's exporter: the same bytes for the same filter, and every
download, from either, writes one `audit.export` event with the filters it ran with."""

from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_event_record

FILTER = {"action": "test.", "outcome": "success"}


def _seed_awkward_events(actor):
    audit_event_record(action="test.formula", actor=actor, justification='=HYPERLINK("x")', ticket="+1 555",
                       message="-2", after={"v": "@SUM(A1)"})
    audit_event_record(action="test.unicode", actor=actor, justification="Zürich — 東京 ✓",
                       before={"b": [1, 2.5, {"z": None}]}, after={"quote": 'say "hi"', "n": 10**15})
    audit_event_record(action="test.other", actor=actor, outcome=AuditEvent.Outcome.DENIED, message="left out")


def _page_csv(user, params) -> bytes:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("audit:export"), params)
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def _api_csv(persona, params):
    response = persona.client().get("/api/v1/audit/events.csv", params)
    assert response.status_code == 200, response.content
    return response, b"".join(response.streaming_content)


def test_the_api_download_writes_the_audit_export_event_with_its_filters(world):
    auditor = world["auditor"]
    _seed_awkward_events(auditor.user)
    _api_csv(auditor, FILTER)
    export = AuditEvent.objects.get(action="audit.export")
    assert export.actor_id == auditor.user.pk
    assert export.principal_id == auditor.principal.pk
    assert export.after == {"filters": FILTER, "mine": False}


def test_a_service_principal_download_is_audited_too(world):
    sp = world["service_principal"]
    _api_csv(sp, {"scope": "/subscriptions/s1"})
    export = AuditEvent.objects.get(action="audit.export")
    assert export.actor_id is None and export.principal_id == sp.principal.pk
    assert export.after == {"filters": {"scope": "/subscriptions/s1"}, "mine": False}


def test_page_and_api_give_the_same_csv_for_the_same_filter(world):
    auditor = world["auditor"]
    _seed_awkward_events(auditor.user)
    response, from_api = _api_csv(auditor, FILTER)
    from_page = _page_csv(auditor.user, FILTER)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert from_api == from_page
    lines = from_api.split(b"\r\n")
    assert len(lines) == 4 and lines[-1] == b""  # header, the two matching events, and the final CRLF
    assert b"'=HYPERLINK" in from_api and "Zürich".encode() in from_api
    assert AuditEvent.objects.filter(action="audit.export").count() == 2


def test_invalid_filters_are_a_400_and_export_nothing(world):
    response = world["auditor"].client().get("/api/v1/audit/events.csv", {"date_from": "not-a-date"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "date_from"
    assert not AuditEvent.objects.filter(action="audit.export").exists()

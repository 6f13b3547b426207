"""The event page shows before/after side by side (changed keys marked) and the chain status of that
event: its hash recomputed, its link to the previous event, the signed checkpoint covering it."""

import pytest
from django.db import connection
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_checkpoint_create, audit_event_record
from auditlog.views import before_after_rows


@pytest.fixture
def auditor(directory):
    user = directory.user("auditor")
    directory.grant(user, "security-reader")
    return user


def test_before_and_after_line_up_by_key():
    rows = before_after_rows({"status": "eligible", "end_at": None, "gone": 1},
                             {"status": "active", "end_at": None, "new": {"a": [1]}})
    by_key = {row["key"]: row for row in rows}
    assert [row["key"] for row in rows] == ["end_at", "gone", "new", "status"]
    assert by_key["status"]["changed"] and by_key["status"]["before"] == "eligible"
    assert not by_key["end_at"]["changed"]
    assert by_key["gone"]["after"] == "—" and by_key["new"]["before"] == "—"
    assert by_key["new"]["after"] == '{\n  "a": [\n    1\n  ]\n}'


def test_an_intact_event_covered_by_a_checkpoint(auditor, client):
    event = audit_event_record(action="test.detail", before={"status": "eligible"}, after={"status": "active"})
    audit_checkpoint_create()
    client.force_login(auditor)
    response = client.get(reverse("audit:detail", args=[event.seq]))
    assert response.status_code == 200
    chain = response.context["chain"]
    assert chain["ok"] and chain["hash_ok"] and chain["link_ok"] and chain["checkpoint_ok"]
    body = response.content.decode()
    assert "Intact" in body and "eligible" in body and "active" in body and "covered" in body


def test_a_tampered_event_shows_as_broken(auditor, client):
    event = audit_event_record(action="test.detail", justification="real reason")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS audit_auditevent_no_update")
        cursor.execute("UPDATE audit_auditevent SET justification = 'fake' WHERE seq = %s", [event.seq])
    client.force_login(auditor)
    response = client.get(reverse("audit:detail", args=[event.seq]))
    chain = response.context["chain"]
    assert not chain["ok"] and not chain["hash_ok"] and chain["link_ok"]
    assert "Broken" in response.content.decode()
    assert AuditEvent.objects.get(seq=event.seq).justification == "fake"


def test_an_unknown_event_is_404(auditor, client):
    client.force_login(auditor)
    assert client.get(reverse("audit:detail", args=[10**9])).status_code == 404

"""The API's audit list and CSV refuse a From date after the To date with a 400 naming the field and
saying why, and export nothing (the page shows the same as a form error)."""

from audit.models import AuditEvent

INVERTED = {"period": "custom", "date_from": "2026-03-10", "date_to": "2026-03-01"}
MESSAGE = "is before its start"


def test_the_api_list_and_csv_are_a_400_with_the_message(world):
    client = world["auditor"].client()
    for url in ("/api/v1/audit/events/", "/api/v1/audit/events.csv"):
        response = client.get(url, INVERTED)
        assert response.status_code == 400, url
        assert response.json()["error"]["field"] == "date_to"
        assert MESSAGE in response.content.decode()
    assert not AuditEvent.objects.filter(action="audit.export").exists()

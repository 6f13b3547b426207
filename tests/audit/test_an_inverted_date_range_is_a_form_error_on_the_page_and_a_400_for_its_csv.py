"""A From date after the To date is a mistake, not an empty log: the page shows it as an error on the
To field, and its CSV download answers 400 with the message, exporting nothing and recording no
`audit.export` event (the API: tests/api/test_an_inverted_audit_date_range_is_a_400_with_its_message.py)."""

import html

import pytest
from django.urls import reverse

from audit.models import AuditEvent

INVERTED = {"period": "custom", "date_from": "2026-03-10", "date_to": "2026-03-01"}
MESSAGE = "is before its start"


@pytest.fixture
def auditor(directory):
    user = directory.user("auditor")
    directory.grant(user, "global-reader")
    return user


def test_the_page_shows_the_inverted_range_as_an_error_on_the_to_field(auditor, client):
    client.force_login(auditor)
    response = client.get(reverse("audit:list"), INVERTED)
    assert response.status_code == 400
    assert response.context["page"] is None
    assert MESSAGE in response.context["filterset"].form.errors["date_to"][0]
    body = html.unescape(response.content.decode())
    assert MESSAGE in body and 'class="error-summary" role="alert"' in body


def test_my_audit_refuses_it_too(auditor, client):
    client.force_login(auditor)
    response = client.get(reverse("audit:mine"), INVERTED)
    assert response.context["page"] is None


def test_the_page_csv_is_a_400_with_the_message_and_exports_nothing(auditor, client):
    client.force_login(auditor)
    response = client.get(reverse("audit:export"), INVERTED)
    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_a_range_of_one_day_is_fine(auditor, client):
    client.force_login(auditor)
    response = client.get(reverse("audit:list"), {"date_from": "2026-03-01", "date_to": "2026-03-01"})
    assert response.context["page"] is not None

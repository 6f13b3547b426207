"""The audit log's From and To dates are days in the person's zone on the page (and its CSV), and the
labels say which zone; the REST API keeps reading them as UTC days."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from api import services as api_services
from assignments.models import User
from audit.services import audit_event_record
from tests.api.conftest import bearer

# 23:30 UTC on 9 March is 00:30 on 10 March in Paris (UTC+1 in winter).
LATE = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
DAY = {"period": "custom", "date_from": "2026-03-10", "date_to": "2026-03-10", "action": "test.late"}


@pytest.fixture
def auditor(directory):
    user = directory.user("auditor")
    directory.grant(user, "global-reader")
    User.objects.filter(pk=user.pk).update(time_zone="Europe/Paris")
    user.refresh_from_db()
    audit_event_record(action="test.late", occurred_at=LATE, scope="/")
    return user


def test_the_page_reads_the_dates_as_paris_days_and_says_so(client, auditor):
    client.force_login(auditor)
    page = client.get("/audit/", DAY).content.decode()
    assert "From (Europe/Paris)" in page
    assert "To, inclusive (Europe/Paris)" in page
    csv = b"".join(client.get("/audit/export.csv", DAY).streaming_content).decode()
    assert "2026-03-09T23:30:00" in csv  # found, and still written in UTC


def test_the_page_leaves_out_the_event_on_the_utc_day_it_happened(client, auditor):
    client.force_login(auditor)
    csv = b"".join(client.get("/audit/export.csv", {**DAY, "date_from": "2026-03-09", "date_to": "2026-03-09"})
                   .streaming_content).decode()
    assert "2026-03-09T23:30:00" not in csv


def test_the_api_reads_the_same_dates_as_utc_days(auditor):
    secret = api_services.token_create_personal(actor=auditor, name="t", mfa_verified_at=timezone.now())[1]
    client = bearer(secret)
    utc_day = client.get("/api/v1/audit/events/", {**DAY, "date_from": "2026-03-09", "date_to": "2026-03-09"})
    assert utc_day.status_code == 200
    assert "2026-03-09T23:30:00" in utc_day.content.decode()
    paris_day = client.get("/api/v1/audit/events/", DAY)
    assert "2026-03-09T23:30:00" not in paris_day.content.decode()

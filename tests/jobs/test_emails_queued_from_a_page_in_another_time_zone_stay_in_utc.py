"""Emails say their times are UTC: one rendered while a request shows the person's own zone (Paris)
still renders datetimes in UTC."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from notifications.email import email_render


def test_email_rendered_under_a_persons_zone_shows_utc():
    end = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    context = {"review_name": "Quarterly", "role_name": "Owner", "scope_path": "/", "end_at": end,
               "url": "/reviews/mine/", "default_decision": "no change"}
    with timezone.override(ZoneInfo("Europe/Paris")):
        subject, text, html = email_render(template="email/review_started", context=context)
    assert "10 a.m." in text and "noon" not in text

"""Helpers for the alerts tests: evaluate one alert, read its current incidents, make activations."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


@pytest.fixture
def evaluate():
    from alerts.services import alert_evaluate

    def _evaluate(key, **kwargs):
        kwargs.setdefault("actor", Actor.system("alerts-evaluate"))  # the scheduled job, unless a person runs it
        return alert_evaluate(key=key, **kwargs)

    return _evaluate


@pytest.fixture
def open_incidents():
    from alerts.models import Incident

    def _open(key):
        return list(Incident.objects.filter(alert_key=key, status=Incident.Status.OPEN).order_by("pk"))

    return _open


@pytest.fixture
def open_items(open_incidents):
    """The items (findings) listed by the open incidents of an alert."""

    def _items(key):
        return [item for incident in open_incidents(key) for item in incident.items]

    return _items


@pytest.fixture
def open_item(open_incidents):
    """(incident, item): the open incident of an alert and its item whose fields match."""

    def _find(key, **match):
        for incident in open_incidents(key):
            for item in incident.items:
                if all(item.get(k) == v for k, v in match.items()):
                    return incident, item
        raise AssertionError(f"No open item of {key} with {match}")

    return _find


@pytest.fixture
def activate():
    """Record an activation of an eligible assignment starting now (the arrangement, not the behaviour)."""
    from assignments.models import Assignment
    from assignments.services import assignment_insert

    def _activate(eligible, *, hours=1):
        now = timezone.now()
        Assignment.objects.filter(principal=eligible.principal, role=eligible.role, scope=eligible.scope,
                                  kind="active", status="live").update(status="ended", ended_at=now)
        return assignment_insert(principal=eligible.principal, role=eligible.role, scope=eligible.scope,
                                 kind="active", start_at=now, end_at=now + timedelta(hours=hours), actor=SETUP,
                                 now=now, activated_from=eligible)

    return _activate


@pytest.fixture
def outbox():
    """The alert emails queued so far, rendered as they will be delivered: [{to, subject, text}]."""
    from notifications.email import email_render
    from notifications.models import OutboxMessage

    def _messages():
        messages = []
        for m in OutboxMessage.objects.filter(channel="email", dedupe_key__startswith="alert-incident:").order_by("pk"):
            payload = m.payload
            if "template" in payload:
                subject, text, _html = email_render(template=payload["template"], context=payload["context"])
            else:
                subject, text = payload["subject"], payload["text"]
            messages.append({"to": payload["to"], "subject": subject, "text": text})
        return messages

    return _messages

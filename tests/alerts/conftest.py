"""Helpers for the alerts tests: evaluate one alert, read its current incidents, make activations."""

from datetime import timedelta

import pytest
from django.utils import timezone


@pytest.fixture
def evaluate():
    from alerts.services import alert_evaluate

    def _evaluate(key, **kwargs):
        return alert_evaluate(key=key, **kwargs)

    return _evaluate


@pytest.fixture
def open_incidents():
    from alerts.models import Incident

    def _open(key):
        return list(Incident.objects.filter(alert_key=key, status=Incident.Status.OPEN).order_by("pk"))

    return _open


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
                                 kind="active", start_at=now, end_at=now + timedelta(hours=hours), actor=None,
                                 now=now, activated_from=eligible)

    return _activate


@pytest.fixture
def outbox():
    from notifications.models import OutboxMessage

    def _messages():
        return list(OutboxMessage.objects.filter(channel="email").order_by("pk"))

    return _messages

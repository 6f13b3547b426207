"""The alerts are evaluated once when the beat starts (standalone or embedded in the worker, as in
`make run`), then on the beat schedule: the alerts page is current from the start, not an hour later."""

import pytest
from celery.signals import beat_embedded_init, beat_init

from alerts.definitions import CATALOGUE
from alerts.models import AlertRun, Incident
from pim_portal.celery import app

EVALUATED = sum(1 for d in CATALOGUE if not d.event_based and d.evaluate is not None)


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


# What celery.beat.Service.start sends: beat_init, and for a beat embedded in a worker also beat_embedded_init.
@pytest.mark.parametrize("signals", [[beat_init], [beat_init, beat_embedded_init]], ids=["beat", "embedded beat"])
def test_starting_the_beat_evaluates_every_alert_once(directory, global_admin, eager, signals):
    assert not AlertRun.objects.exists()
    for signal in signals:
        signal.send(sender=None)
    assert AlertRun.objects.filter(trigger="schedule").count() == EVALUATED  # every evaluated alert
    assert Incident.objects.filter(alert_key="too_many_global_admins", is_current=True).count() == 1

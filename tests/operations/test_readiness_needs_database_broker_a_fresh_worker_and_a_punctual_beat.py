"""`/readyz` is 200 only when the database and the broker answer, a worker ran the heartbeat job less
than PIM_READY_WORKER_SECONDS ago and the beat is at most PIM_READY_BEAT_LAG_SECONDS late; otherwise 503
naming what is wrong. `/healthz` answers whatever the rest is doing."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from operations.heartbeat import BEAT, WORKER, heartbeat_record


def ready(client):
    response = client.get("/readyz")
    body = json.loads(response.content)
    assert response.status_code == (200 if body["ready"] else 503)
    return body


@pytest.fixture
def beats():
    def _beats(*, worker_at, beat_at):
        heartbeat_record(name=BEAT, at=beat_at)
        heartbeat_record(name=WORKER, at=worker_at, sent_at=beat_at)

    return _beats


@pytest.mark.django_db
def test_ready_with_fresh_heartbeats_then_not_when_the_worker_falls_silent(client, settings, beats):
    settings.PIM_READY_WORKER_SECONDS, settings.PIM_READY_BEAT_LAG_SECONDS, settings.PIM_HEARTBEAT_SECONDS = 60, 30, 10
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert not ready(client)["ready"]  # nothing has beaten yet
        beats(worker_at=start, beat_at=start)
        body = ready(client)
        assert body["ready"], body
        assert set(body["checks"]) == {"database", "broker", "worker", "beat"}
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        heartbeat_record(name=BEAT, at=timezone.now())  # the beat goes on; no worker runs the job
        body = ready(client)
        assert not body["ready"]
        assert not body["checks"]["worker"]["ok"]
        assert "61 s ago" in body["checks"]["worker"]["detail"]
        assert body["checks"]["beat"]["ok"]
        assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_a_late_beat_is_not_ready(client, settings, beats):
    settings.PIM_READY_WORKER_SECONDS, settings.PIM_READY_BEAT_LAG_SECONDS, settings.PIM_HEARTBEAT_SECONDS = 600, 30, 10
    start = timezone.now()
    beats(worker_at=start, beat_at=start)
    with time_machine.travel(start + timedelta(seconds=39), tick=False):
        assert ready(client)["ready"]  # 29 s late: within the 30 allowed
    with time_machine.travel(start + timedelta(seconds=45), tick=False):
        body = ready(client)
        assert not body["ready"]
        assert body["checks"]["beat"] == {"ok": False, "detail": "35 s late (more than 30 s)", "age_seconds": 35.0}
        assert body["checks"]["worker"]["ok"]


@pytest.mark.django_db
def test_an_older_heartbeat_never_moves_one_back(beats):
    from operations.models import Heartbeat

    now = timezone.now()
    beats(worker_at=now, beat_at=now)
    assert not heartbeat_record(name=WORKER, at=now - timedelta(seconds=5))
    assert Heartbeat.objects.get(name=WORKER).at == now


@pytest.mark.django_db
def test_an_unreachable_broker_is_not_ready(client, beats):
    from pim_portal.celery import app

    beats(worker_at=timezone.now(), beat_at=timezone.now())
    original = app.conf.broker_write_url, app.conf.broker_url
    app.conf.broker_write_url = app.conf.broker_url = "redis://127.0.0.1:9/0"  # discard port: refused
    app._pool = None
    try:
        body = ready(client)
    finally:
        app.conf.broker_write_url, app.conf.broker_url = original
        app._pool = None
    assert not body["ready"]
    assert not body["checks"]["broker"]["ok"]
    assert "Error" in body["checks"]["broker"]["detail"]
    assert body["checks"]["database"]["ok"]

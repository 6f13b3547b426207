"""End to end on real components: PostgreSQL, our own redis-server and a `celery -A pim_portal worker`
subprocess. The heartbeat job is published as the beat does (the publish hook stamps it and records the
beat's heartbeat); `/readyz` is ready while the worker runs it, unready when Redis stops or the worker
stops, and ready again when each returns."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from operations.models import Heartbeat
from operations.tasks import heartbeat

from .conftest import wait_until


def readyz(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    return response.status_code, json.loads(response.content)


def worker_beat_after(moment):
    return Heartbeat.objects.filter(name="worker", at__gt=moment).first()


@pytest.mark.django_db(transaction=True)
def test_readyz_follows_the_broker_and_the_worker(postgres, redis_server, broker, celery_worker_process, client,
                                                  settings, tmp_path):
    settings.PIM_READY_WORKER_SECONDS = 60
    broker(redis_server.url)
    first = celery_worker_process(broker_url=redis_server.url, log_path=tmp_path / "worker-1.log")

    published = timezone.now()
    heartbeat.apply_async()
    beat = wait_until(lambda: worker_beat_after(published), timeout=30, what="the worker's heartbeat")
    assert beat.sent_at is not None and beat.sent_at >= published  # stamped when published
    assert beat.pid == first.pid
    status, body = readyz(client)
    assert status == 200, body

    # The broker stops: unready at once, saying so; the worker keeps running and reconnects.
    redis_server.stop()
    status, body = readyz(client)
    assert status == 503
    assert not body["checks"]["broker"]["ok"] and body["checks"]["database"]["ok"]
    redis_server.start()
    returned = timezone.now()
    wait_until(lambda: readyz(client)[0] == 200, timeout=30, what="/readyz once Redis is back")
    heartbeat.apply_async()
    wait_until(lambda: worker_beat_after(returned), timeout=60, what="the worker's heartbeat after Redis returned")

    # The worker stops; the beat goes on publishing. Past PIM_READY_WORKER_SECONDS, unready.
    first.terminate()
    first.wait(timeout=30)
    stopped = timezone.now()
    with time_machine.travel(stopped + timedelta(seconds=61), tick=False):
        heartbeat.apply_async()
        status, body = readyz(client)
        assert status == 503
        assert not body["checks"]["worker"]["ok"] and body["checks"]["beat"]["ok"], body
        assert "ago" in body["checks"]["worker"]["detail"]

    # A new worker runs the heartbeat that waited in the queue: ready again, its beat from its own pid.
    second = celery_worker_process(broker_url=redis_server.url, log_path=tmp_path / "worker-2.log")
    beat = wait_until(lambda: worker_beat_after(stopped), timeout=30, what="the new worker's heartbeat")
    assert beat.pid == second.pid
    status, body = readyz(client)
    assert status == 200, body

"""Liveness and readiness.

`/healthz` answers as long as the process serves requests. `/readyz` says whether the portal can do
its work: the database answers, the broker accepts a connection, a worker ran the heartbeat job less
than PIM_READY_WORKER_SECONDS ago, and the beat is not late with it by more than
PIM_READY_BEAT_LAG_SECONDS. The access check needs only the database, but approvals, expiry, email,
SCIM and the witness need the worker and the beat: a portal without them silently stops tidying up,
so a load balancer or an orchestrator should hear about it.
"""

import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from .heartbeat import BEAT, WORKER
from .models import Heartbeat

BROKER_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    age_seconds: float | None = None

    def as_dict(self) -> dict:
        out = {"ok": self.ok, "detail": self.detail}
        if self.age_seconds is not None:
            out["age_seconds"] = round(self.age_seconds, 3)
        return out


def _check_database() -> Check:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return Check("database", False, f"{type(error).__name__}: {error}".strip()[:300])
    return Check("database", True, f"answered in {(time.monotonic() - started) * 1000:.1f} ms")


def _check_broker() -> Check:
    """Open a channel on the broker the portal publishes to (for Redis that is a PING), with a short
    timeout and no retries: a probe must answer quickly either way."""
    from .tasks import heartbeat

    app = heartbeat.app  # the project's Celery app, which the task is bound to
    started = time.monotonic()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
            conn.default_channel  # noqa: B018  (opening the channel is the check)
    except Exception as error:  # any transport error: unreachable, refused, authentication, timeout
        return Check("broker", False, f"{type(error).__name__}: {error}".strip()[:300])
    return Check("broker", True, f"{app.conf.broker_url.split('://', 1)[0]}:// answered in "
                                 f"{(time.monotonic() - started) * 1000:.1f} ms")


def _heartbeats() -> dict[str, Heartbeat]:
    return {beat.name: beat for beat in Heartbeat.objects.filter(name__in=[WORKER, BEAT])}


def _check_worker(beats: dict[str, Heartbeat], now: datetime) -> Check:
    limit = settings.PIM_READY_WORKER_SECONDS
    beat = beats.get(WORKER)
    if beat is None:
        return Check("worker", False, "no worker has run the heartbeat job yet")
    age = (now - beat.at).total_seconds()
    where = f"{beat.hostname} pid {beat.pid}" if beat.hostname else "a worker"
    if age > limit:
        return Check("worker", False, f"last heartbeat {age:.0f} s ago by {where} (more than {limit} s)", age)
    return Check("worker", True, f"heartbeat {age:.1f} s ago by {where}", age)


def _check_beat(beats: dict[str, Heartbeat], now: datetime) -> Check:
    """How late the beat is: the time since it last published the heartbeat job, beyond its interval."""
    limit = settings.PIM_READY_BEAT_LAG_SECONDS
    beat = beats.get(BEAT)
    if beat is None:
        return Check("beat", False, "the beat has not published the heartbeat job yet")
    lag = max(0.0, (now - beat.at).total_seconds() - settings.PIM_HEARTBEAT_SECONDS)
    if lag > limit:
        return Check("beat", False, f"{lag:.0f} s late (more than {limit} s)", lag)
    return Check("beat", True, f"{lag:.1f} s late", lag)


def readiness(*, now: datetime | None = None) -> list[Check]:
    database = _check_database()
    checks = [database, _check_broker()]
    if not database.ok:
        return [*checks, Check("worker", False, "unknown: the database is unreachable"),
                Check("beat", False, "unknown: the database is unreachable")]
    now = now or timezone.now()
    try:
        beats = _heartbeats()
    except DatabaseError as error:
        detail = f"heartbeats unreadable: {type(error).__name__}"
        return [*checks, Check("worker", False, detail), Check("beat", False, detail)]
    return [*checks, _check_worker(beats, now), _check_beat(beats, now)]

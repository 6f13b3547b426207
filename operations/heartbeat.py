"""Heartbeats of the beat and the workers, read by `/readyz` and `/metrics`.

The beat publishes `operations.tasks.heartbeat` every PIM_HEARTBEAT_SECONDS. When it does, the hook
below (run in the publishing process, so in the beat) records the "beat" heartbeat and stamps the
message with the time; the worker that runs the job records the "worker" heartbeat with that stamp.
So a stopped beat shows as an old "beat" heartbeat, a stopped worker (or a broker that delivers
nothing) as an old "worker" heartbeat while the beat's stays fresh.
"""

import logging
import os
import socket
from datetime import datetime

from celery.signals import before_task_publish
from django.db import DatabaseError, IntegrityError
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import Heartbeat

logger = logging.getLogger(__name__)

TASK_NAME = "operations.tasks.heartbeat"
SENT_AT_HEADER = "pim_heartbeat_sent_at"
BEAT, WORKER = "beat", "worker"


def heartbeat_record(*, name: str, at: datetime, sent_at: datetime | None = None) -> bool:
    """Move the `name` heartbeat to `at` (never back: a late, older beat changes nothing). True if it moved."""
    values = {"at": at, "sent_at": sent_at, "hostname": socket.gethostname()[:200], "pid": os.getpid()}
    moved = Heartbeat.objects.filter(Q(at__lt=at), name=name).update(**values)
    if moved:
        return True
    try:
        _, created = Heartbeat.objects.get_or_create(name=name, defaults=values)
    except IntegrityError:  # the first beat of another process won the insert; it is as recent
        return False
    return created


def sent_at_of(request) -> datetime | None:
    """The publish time the beat stamped on a heartbeat message (None when queued by hand)."""
    text = (getattr(request, "headers", None) or {}).get(SENT_AT_HEADER) or getattr(request, SENT_AT_HEADER, None)
    parsed = parse_datetime(text) if isinstance(text, str) else None
    return parsed if parsed is not None and timezone.is_aware(parsed) else None


@before_task_publish.connect(dispatch_uid="operations.heartbeat.beat_published")
def _beat_published(sender=None, headers=None, **kwargs):
    if sender != TASK_NAME or headers is None:
        return
    now = timezone.now()
    headers[SENT_AT_HEADER] = now.isoformat()
    try:
        heartbeat_record(name=BEAT, at=now)
    except DatabaseError as error:  # the job still goes out; readiness reports the database itself
        logger.warning("beat heartbeat not recorded: %s", error)

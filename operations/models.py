"""Operational bookkeeping: heartbeats of the background processes and the cursors of the SIEM streams.

Neither holds anything the portal's rules depend on: a heartbeat says when the beat last scheduled and
a worker last ran the heartbeat job (read by `/readyz` and `/metrics`); a stream's cursor says how far
each SIEM has been sent the audit log, so that a restart resumes where it stopped.
"""

from django.db import models


class Heartbeat(models.Model):
    """One row per process kind that beats ("worker", "beat").

    Invariants: `at` only moves forward (a guarded update: an older beat never overwrites a newer one).
    "beat" is written by the beat process when it publishes the heartbeat job; "worker" by the worker
    that runs it, with `sent_at` the time the beat published that job (so `at - sent_at` is the time
    the job waited in the queue)."""

    name = models.CharField(max_length=16, unique=True)
    at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    hostname = models.CharField(max_length=200, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} heartbeat at {self.at:%Y-%m-%d %H:%M:%S}"


class SiemStream(models.Model):
    """The cursor of one SIEM consumer (an entry of PIM_SIEM_STREAMS, by name).

    Invariants:
    - `last_seq` is the seq of the last audit event the consumer confirmed, and `last_checkpoint_id`
      the last checkpoint; both only move forward, by a conditional update that names the values read
      when the batch was claimed and the lease holder, so two streamers never both advance it.
    - While `lease_until` is in the future, `lease_owner` is streaming this consumer and nobody else
      sends to it; a streamer that dies leaves the lease to run out, and the batch it had not confirmed
      is sent again from the cursor.
    """

    name = models.CharField(max_length=64, unique=True)
    destination = models.CharField(max_length=500, blank=True)  # the URL without credentials, for display
    last_seq = models.BigIntegerField(default=0)
    last_checkpoint_id = models.BigIntegerField(default=0)
    events_sent = models.BigIntegerField(default=0)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"SIEM stream {self.name} at #{self.last_seq}"

"""The audit stream to SIEMs: every audit event, in seq order, with the signed checkpoints, to each
consumer of PIM_SIEM_STREAMS, once.

Each consumer has a cursor (`SiemStream`: the last event and the last checkpoint it confirmed), so a
restart of the portal, the worker or the receiver resumes where the receiver stopped. A streamer
takes a consumer with a lease (a conditional update: one streamer per consumer at a time; a dead one's
lease runs out), reads the events after the cursor in keyset batches, sends them, and moves the cursor
by what the receiver confirmed (`operations.siem_sinks`), with a conditional update that names the
cursor it read and its lease. What was not confirmed is sent again from the cursor next time.

What goes out, one JSON object a record:
- an event: `{"type": "pim-audit-event", "v": 1, <every hashed field, in canonical form>, "prev_hash",
  "hash"}`. The hash is sha256(prev_hash + "\\n" + the sorted-key compact JSON of the hashed fields), so
  the SIEM can recompute the chain;
- a checkpoint: the audit witness record (`"type": "pim-audit-witness"`, its seq, hash and HMAC
  signature under the audit signing key), after the events it covers. An export of the SIEM's lines
  is a witness for `manage.py audit_verify --witness FILE`: the SIEM copy is the external anchor.

Events are appended to the chain under the chain head's lock, which their transaction holds until it
commits, so the committed events are always a gap-free prefix and the cursor never skips one. The one
gap the streamer accepts is a purge (events deleted below a signed anchor): it says so and goes on.
"""

import logging
import uuid
from datetime import datetime, timedelta
from itertools import islice, takewhile

from django.conf import settings
from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone

from audit.integrity import iter_event_rows
from audit.models import AuditCheckpoint, AuditEvent
from audit.witness import witness_line, witness_record_of_checkpoint

from .models import SiemStream
from .siem_sinks import Message, SiemError, siem_sink

logger = logging.getLogger(__name__)

EVENT_TYPE = "pim-audit-event"
BATCH = 500
LEASE = timedelta(seconds=120)


def event_message(seq: int, data: dict, prev_hash: str, hash_: str) -> Message:
    record = {"type": EVENT_TYPE, "v": 1, **data, "prev_hash": prev_hash, "hash": hash_}
    severity = 6 if data.get("outcome") == AuditEvent.Outcome.SUCCESS else 5
    return Message(msgid="pim-audit", timestamp=data["occurred_at"], severity=severity, seq=seq, hash=hash_,
                   line=witness_line(record))


def checkpoint_message(checkpoint: AuditCheckpoint) -> Message:
    record = witness_record_of_checkpoint(checkpoint=checkpoint, written_at=checkpoint.created_at)
    return Message(msgid="pim-audit-witness", timestamp=record["at"], severity=6, seq=checkpoint.last_seq,
                   hash=checkpoint.last_hash, line=witness_line(record))


def _next_batch(stream: SiemStream, *, size: int) -> tuple[list[tuple[str, int, Message]], str]:
    """The next records for `stream`: [(kind, id or seq, message)] in stream order, and a note when the
    log was purged past the cursor."""
    note = ""
    rows = list(islice(iter_event_rows(chunk=size, after_seq=stream.last_seq), size))
    if rows and rows[0][0] != stream.last_seq + 1:
        anchor = (AuditCheckpoint.objects.filter(kind=AuditCheckpoint.Kind.PURGE, last_seq__gte=rows[0][0] - 1)
                  .order_by("last_seq").first())
        if anchor is None or anchor.last_seq != rows[0][0] - 1:
            # Not a purge: an event not committed yet (cannot happen while appends hold the head's lock to
            # their commit); wait for it rather than skip it.
            rows = [row for row in rows if row[0] == stream.last_seq + 1]
        else:
            note = f"events #{stream.last_seq + 1}–#{anchor.last_seq} were purged before they were sent"
    contiguous = []
    expected = rows[0][0] if rows else None
    for row in rows:
        if row[0] != expected:
            break
        contiguous.append(row)
        expected += 1
    last_seq = contiguous[-1][0] if contiguous else stream.last_seq
    # In id order, up to the first one that covers events beyond this batch (it goes with a later batch,
    # and so does every checkpoint after it: the checkpoint cursor is "every id up to here was confirmed").
    checkpoints = list(takewhile(lambda cp: cp.last_seq <= last_seq, AuditCheckpoint.objects.filter(
        id__gt=stream.last_checkpoint_id).order_by("id")[:size]))
    # A checkpoint's events come first; a purge anchor covers events that are gone: it goes out at once.
    records: list[tuple[int, int, str, int, Message]] = []
    for seq, data, prev_hash, hash_ in contiguous:
        records.append((seq, 0, "event", seq, event_message(seq, data, prev_hash, hash_)))
    for checkpoint in checkpoints:
        at = checkpoint.last_seq if checkpoint.last_seq > stream.last_seq else stream.last_seq
        records.append((at, 1, "checkpoint", checkpoint.pk, checkpoint_message(checkpoint)))
    records.sort(key=lambda r: (r[0], r[1], r[3]))
    return [(kind, key, message) for _, _, kind, key, message in records], note


def _checkpoint_cursor(cursor: int, records: list, confirmed: int) -> int:
    """The largest checkpoint id up to which every checkpoint of the batch was confirmed."""
    done = {key for kind, key, _ in records[:confirmed] if kind == "checkpoint"}
    for key in sorted(key for kind, key, _ in records if kind == "checkpoint"):
        if key not in done:
            break
        cursor = key
    return cursor


def siem_stream_deliver(*, name: str, url: str, now: datetime | None = None, max_records: int = 50_000,
                        batch: int = BATCH) -> int:
    """Send consumer `name` what it has not confirmed, up to `max_records`; returns how many records it
    confirmed. 0 when another streamer holds it, with nothing new, or when the receiver fails (logged, kept
    on the stream row as `last_error` / `failing_since`, retried by the next run)."""
    sink = siem_sink(url, stream=name)
    now = now or timezone.now()
    try:
        stream, _ = SiemStream.objects.get_or_create(name=name, defaults={"destination": str(sink)})
    except IntegrityError:  # another streamer created it at the same moment
        stream = SiemStream.objects.get(name=name)
    owner = uuid.uuid4().hex
    claimed = SiemStream.objects.filter(pk=stream.pk).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)).update(
        lease_owner=owner, lease_until=now + LEASE, destination=str(sink))
    if not claimed:
        return 0
    sent = 0
    try:
        while sent < max_records:
            stream.refresh_from_db()
            records, note = _next_batch(stream, size=min(batch, max_records - sent))
            if note:
                logger.warning("SIEM stream %s: %s", name, note)
            if not records:
                break
            try:
                confirmed = sink.deliver([message for _, _, message in records])
                error = None
            except SiemError as failure:
                confirmed, error = failure.confirmed, failure
            done = records[:confirmed]
            last_seq = max([key for kind, key, _ in done if kind == "event"], default=stream.last_seq)
            last_checkpoint = _checkpoint_cursor(stream.last_checkpoint_id, records, confirmed)
            events = sum(1 for kind, _, _ in done if kind == "event")
            moment = timezone.now()
            values = {"last_seq": last_seq, "last_checkpoint_id": last_checkpoint,
                      "events_sent": F("events_sent") + events, "lease_until": moment + LEASE}
            if done:
                values["delivered_at"] = moment
            if error is None:
                values.update(failing_since=None, last_error="")
            else:
                values.update(failing_since=stream.failing_since or moment, last_error=str(error)[:2000])
            moved = SiemStream.objects.filter(pk=stream.pk, lease_owner=owner, last_seq=stream.last_seq,
                                              last_checkpoint_id=stream.last_checkpoint_id).update(**values)
            if not moved:
                logger.error("SIEM stream %s: lost its lease while sending; the next run resends what is "
                             "unconfirmed", name)
                break
            sent += len(done)
            if error is not None:
                logger.warning("SIEM stream %s failed after %d confirmed records, retried by the next run: %s",
                               name, sent, error)
                break
    finally:
        SiemStream.objects.filter(pk=stream.pk, lease_owner=owner).update(lease_owner="", lease_until=None)
    return sent


def siem_streams_deliver(*, now: datetime | None = None) -> int:
    """Every configured consumer, one after the other (a failing one does not hold up the others)."""
    total = 0
    for name, url in settings.PIM_SIEM_STREAMS.items():
        try:
            total += siem_stream_deliver(name=name, url=url, now=now)
        except SiemError as error:
            logger.error("SIEM stream %s is misconfigured: %s", name, error)
    return total

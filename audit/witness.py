"""The external witness of the audit log.

The hash chain, its head and the signed checkpoints all live in the database, so whoever can rewrite
the database (a superuser who drops the append-only triggers) can cut the log back to an older
checkpoint, or rewrite the events after the newest one, and the database alone still verifies. The
witness keeps the chain's milestones outside the database: every checkpoint, and the chain head at
least every PIM_AUDIT_WITNESS_EVERY_EVENTS events or PIM_AUDIT_WITNESS_EVERY_SECONDS seconds while
writes happen. `audit_verify --witness` compares the database with it.

A record is one JSON line:
    {"type": "pim-audit-witness", "v": 1, "kind": "periodic" | "purge" | "head", "seq": …, "hash": …,
     "signature": …, "prev_signature": …, "key_id": …, "checkpoint": …, "at": …, "written_at": …}
`hash` is the hash of event `seq`. A checkpoint record carries the checkpoint's own signature; a head
record is signed the same way (HMAC-SHA256 under PIM_AUDIT_SIGNING_KEY), so a line cannot be forged
without the key.

The sinks (a file, syslog, an HTTPS endpoint, chosen by PIM_AUDIT_WITNESS) are in `audit.witness_sinks`.

Writing never slows or breaks an audited change: the writer runs after commit, outside the chain
head's lock, in the beat job, the checkpoint job and a job queued every N events. A failing sink is
logged, kept in `AuditWitnessState` and retried by the next run.
"""

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .models import AuditChainHead, AuditCheckpoint, AuditEvent, AuditWitnessState
from .services import checkpoint_signature, signing_key_id, signing_keys
from .witness_sinks import RECORD_TYPE, WitnessError, witness_sink

logger = logging.getLogger(__name__)

HEAD = "head"
BATCH = 500


# --- Records ----------------------------------------------------------------------------------------

def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _utc_parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _head_signature(*, key: str, seq: int, hash_: str, at: str) -> str:
    payload = "\n".join(["pim-audit-witness-head-v1", str(seq), hash_, at]).encode()
    return hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()


def witness_record_of_checkpoint(*, checkpoint: AuditCheckpoint, written_at: datetime) -> dict:
    return {"type": RECORD_TYPE, "v": 1, "kind": checkpoint.kind, "seq": checkpoint.last_seq,
            "hash": checkpoint.last_hash, "signature": checkpoint.signature,
            "prev_signature": checkpoint.prev_signature, "key_id": checkpoint.key_id, "checkpoint": checkpoint.pk,
            "at": _utc_text(checkpoint.created_at), "written_at": _utc_text(written_at)}


def witness_record_of_head(*, seq: int, hash_: str, at: datetime) -> dict:
    key = settings.PIM_AUDIT_SIGNING_KEY
    at_text = _utc_text(at)
    return {"type": RECORD_TYPE, "v": 1, "kind": HEAD, "seq": seq, "hash": hash_,
            "signature": _head_signature(key=key, seq=seq, hash_=hash_, at=at_text), "key_id": signing_key_id(key),
            "at": at_text, "written_at": at_text}


def witness_line(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def witness_record_signature_valid(*, record: dict, keys: dict[str, str]) -> bool:
    try:
        key = keys.get(record["key_id"])
        if key is None or not isinstance(record["seq"], int):
            return False
        if record["kind"] == HEAD:
            expected = _head_signature(key=key, seq=record["seq"], hash_=record["hash"], at=record["at"])
        else:
            expected = checkpoint_signature(key=key, kind=record["kind"], last_seq=record["seq"],
                                            last_hash=record["hash"], prev_signature=record["prev_signature"],
                                            created_at=_utc_parse(record["at"]))
        return hmac.compare_digest(expected, str(record["signature"]))
    except (KeyError, TypeError, ValueError):
        return False


# --- Writing ----------------------------------------------------------------------------------------

def _claim_state() -> AuditWitnessState | None:
    """The state row, locked; None while another writer holds it (it will write what we would)."""
    claimed = AuditWitnessState.objects.select_for_update(skip_locked=True).filter(pk=1)
    state = claimed.first()
    if state is None and not AuditWitnessState.objects.filter(pk=1).exists():
        AuditWitnessState.objects.get_or_create(pk=1)  # created by migration; only an emptied database lacks it
        state = claimed.first()
    return state


def audit_witness_write(*, now: datetime | None = None) -> int:
    """Write every checkpoint not yet witnessed and, if the chain moved since the last record, its head.

    Returns how many records were written: 0 without a witness, with nothing new, while another
    writer is at it, or when the sink fails (logged, kept in the state row, retried by the next run;
    never raised, so that no caller's change depends on the witness)."""
    if not settings.PIM_AUDIT_WITNESS:
        return 0
    now = now or timezone.now()
    try:
        sink = witness_sink(settings.PIM_AUDIT_WITNESS)
    except WitnessError as error:
        logger.error("audit witness not written: %s", error)
        return 0
    written = 0
    with transaction.atomic():
        state = _claim_state()
        if state is None:
            return 0
        while True:
            checkpoints = list(AuditCheckpoint.objects.filter(id__gt=state.last_checkpoint_id).order_by("id")[:BATCH])
            records = [witness_record_of_checkpoint(checkpoint=cp, written_at=now) for cp in checkpoints]
            last_batch = len(checkpoints) < BATCH
            # The head is read without its lock: the last committed (seq, hash), one row, consistent.
            head = AuditChainHead.objects.filter(pk=1).values_list("last_seq", "last_hash").first()
            if last_batch and head is not None and head[0] > state.last_seq:
                records.append(witness_record_of_head(seq=head[0], hash_=head[1], at=now))
            if not records:
                return written
            try:
                sink.write([witness_line(record) for record in records])
            except Exception as error:  # any failure of the sink (OSError, HTTP, DNS…): keep going, retry later
                logger.warning("audit witness %s failed, retried by the next run: %s", sink, error)
                state.failing_since = state.failing_since or now
                state.last_error = f"{type(error).__name__}: {error}"[:2000]
                state.save(update_fields=["failing_since", "last_error"])
                return written
            written += len(records)
            if checkpoints:
                state.last_checkpoint_id = checkpoints[-1].pk
            state.last_seq = max(state.last_seq, *(record["seq"] for record in records))
            state.witnessed_at, state.failing_since, state.last_error = now, None, ""
            state.save()
            if last_batch:
                return written


_last_seen_seq: int | None = None


def audit_witness_nudge(*, last_seq: int) -> None:
    """Called whenever the chain head moves, inside the writer's transaction: when the head crossed a
    multiple of PIM_AUDIT_WITNESS_EVERY_EVENTS, queue the witness job for after the commit. No query and
    no I/O here: the writer holds the chain head's lock."""
    global _last_seen_seq
    every = settings.PIM_AUDIT_WITNESS_EVERY_EVENTS
    if not settings.PIM_AUDIT_WITNESS or every <= 0:
        return
    previous, _last_seen_seq = _last_seen_seq, last_seq
    if previous is None or last_seq < previous:  # first append in this process (or a database reset)
        crossed = last_seq % every == 0
    else:
        crossed = last_seq // every > previous // every
    if crossed:
        transaction.on_commit(_witness_job_queue, robust=True)


QUEUE_CONNECT_TIMEOUT = 2.0
QUEUE_PAUSE_AFTER_FAILURE = 30.0
_queue_paused_until = 0.0


def _witness_job_queue() -> None:
    """Queue the witness job, as `notifications.outbox.outbox_kick` kicks the relay: no publish retries, a
    short connect timeout, and a pause after a failure, so that a broker outage never slows the request
    whose change just committed. The beat job writes the witness meanwhile."""
    global _queue_paused_until
    if time.monotonic() < _queue_paused_until:
        return
    from .tasks import audit_witness

    app = audit_witness.app  # the project's Celery app, which the task is bound to

    try:
        if app.conf.task_always_eager:
            audit_witness.apply_async()
            return
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=0, timeout=QUEUE_CONNECT_TIMEOUT)
            audit_witness.apply_async(retry=False, connection=connection)
    except Exception as error:  # any broker failure: the beat job writes the witness instead
        _queue_paused_until = time.monotonic() + QUEUE_PAUSE_AFTER_FAILURE
        logger.warning("audit witness job not queued (broker unavailable?): %s", error)


# --- Reading back (audit_verify --witness) ----------------------------------------------------------

def witness_file(source: str) -> Path:
    """The file to check against: a path, or a file:// URL. Syslog and HTTP witnesses are exported to a
    file first (README, "Audit log")."""
    if "://" not in source:
        return Path(source)
    parts = urlsplit(source)
    if parts.scheme.lower() != "file":
        raise WitnessError(f"{source}: audit_verify reads the witness from a file; export the witness lines of "
                           f"the syslog or HTTP receiver to a file and pass its path")
    return Path(unquote(parts.path))


def configured_witness_file() -> str | None:
    url = settings.PIM_AUDIT_WITNESS
    return url if url and urlsplit(url).scheme.lower() == "file" else None


def witness_records_read(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, record) for every witness record in `path`: JSON lines as the file sink writes them,
    or syslog lines that carry one (anything before the first "{" is ignored; lines without a record
    are skipped). A torn last line, cut by a crash while it was written, is skipped."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as error:
        raise WitnessError(f"cannot read the witness {path}: {error.strerror}")
    with handle:
        for number, line in enumerate(handle, 1):
            if RECORD_TYPE not in line:
                continue
            text = line.strip()
            try:
                record = json.loads(text[text.index("{"):])
            except ValueError:
                if not line.endswith("\n"):
                    return
                raise WitnessError(f"{path}, line {number}: not a witness record")
            if isinstance(record, dict) and record.get("type") == RECORD_TYPE:
                yield number, record


def audit_witness_check(*, result, source: str, chunk: int = 1000):
    """Compare the verified log (`result` of `audit_chain_verify`) with the witness in `source`:
    - a witnessed hash that differs from the stored event's at the same seq: the chain was rewritten
      (with recomputed hashes) at or before that event; also what a cut-back looks like once the
      portal has appended new events over the deleted seqs;
    - a witnessed seq the log does not have: events were deleted and the head moved back (a cut-back
      to an older checkpoint, or a truncate);
    - a record whose signature is not valid: a forged witness line.
    Records at or before a purge anchor are not compared: those events were purged, and the anchor is
    signed. Records beyond the verified end are compared with what the log holds now (writers keep
    appending while verify runs, and the witness keeps up with them)."""
    if not result.ok:
        return result
    path = witness_file(source)
    if not path.exists() and not AuditCheckpoint.objects.exists():
        result.witness = f"witness {path}: no records yet"
        return result
    keys = signing_keys()
    anchor_seq = result.anchor_seq
    last_seq = result.last_seq or anchor_seq
    newest: tuple[int, int, str] | None = None  # (seq, line, at)
    mismatch: tuple[int, int, str] | None = None
    missing: tuple[int, int, str] | None = None
    pending: list[tuple[int, str, int, str]] = []
    count = 0

    def compare() -> None:
        nonlocal mismatch, missing
        stored = dict(AuditEvent.objects.filter(seq__in={p[0] for p in pending}).values_list("seq", "hash"))
        for seq, hash_, line, at in pending:
            stored_hash = stored.get(seq)
            if stored_hash is None:
                if missing is None or seq > missing[0]:
                    missing = (seq, line, at)
            elif stored_hash != hash_ and (mismatch is None or seq < mismatch[0]):
                mismatch = (seq, line, at)
        pending.clear()

    for line, record in witness_records_read(path):
        if not witness_record_signature_valid(record=record, keys=keys):
            seq = record.get("seq") if isinstance(record.get("seq"), int) else last_seq + 1
            return _witness_fail(result, seq, f"witness record at line {line} is not validly signed (a forged "
                                              f"line, or its key is missing from PIM_AUDIT_SIGNING_KEY_FALLBACKS)")
        count += 1
        seq = record["seq"]
        if newest is None or seq > newest[0]:
            newest = (seq, line, record["at"])
        if seq > anchor_seq:
            pending.append((seq, record["hash"], line, record["at"]))
            if len(pending) >= chunk:
                compare()
    if pending:
        compare()
    if mismatch is not None:
        seq, line, at = mismatch
        result.verified = max(0, min(seq, last_seq + 1) - anchor_seq - 1)
        return _witness_fail(result, seq, f"hash differs from the witness (line {line}, witnessed {at}): the chain "
                                          f"was rewritten at or before this event")
    if missing is not None:
        seq, line, at = missing
        end = max(last_seq, AuditEvent.objects.aggregate(end=Max("seq"))["end"] or 0)
        return _witness_fail(result, end + 1, f"missing: the log ends at #{end} but the witness saw #{seq} "
                                              f"(line {line}, {at}): events deleted and the chain head moved back")
    result.witness = (f"witness agrees: {count} record{'' if count == 1 else 's'} up to #{newest[0]}" if newest
                      else f"witness {path}: no records yet")
    return result


def _witness_fail(result, seq: int, reason: str):
    result.ok = False
    result.bad_seq = seq
    result.reason = reason
    return result

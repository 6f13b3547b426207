"""The audit log streamed to a real rsyslog over TLS (RFC 5424, octet-counted framing): every event once
and in seq order, the signed checkpoints after the events they cover, through receiver kills (SIGKILL
mid-stream, then a restart): nothing lost, nothing twice. The copy the SIEM holds is a witness that
`audit_verify --witness` accepts."""

import json
import re
import threading
import time

import pytest
from django.core.management import call_command

from audit.integrity import audit_chain_verify
from audit.models import AuditChainHead
from audit.services import audit_checkpoint_create, audit_event_record, signing_keys
from audit.witness import witness_record_signature_valid
from operations.models import SiemStream
from operations.siem import siem_stream_deliver

SYSLOG = re.compile(r'^<(\d+)>1 (\S+) (\S+) pim-portal (\d+) (pim-audit(?:-witness)?) '
                    r'\[pim@32473 seq="(\d+)" hash="([0-9a-f]{64})"\] (\{.*\})$')


def record_events(count: int, tag: str) -> None:
    for i in range(count):
        audit_event_record(action="test.siem", message=f"{tag} {i}", justification="ünïcödé \"quoted\" ]\\",
                           after={"i": i, "nested": {"list": [1, 2.5, None]}})


def parsed(lines: list[str]) -> list[tuple[str, dict]]:
    out = []
    for line in lines:
        match = SYSLOG.match(line)
        assert match, f"not an RFC 5424 line of the stream: {line[:200]}"
        pri, _, _, _, msgid, seq, hash_, body = match.groups()
        record = json.loads(body)
        assert int(pri) // 8 == 13  # facility "log audit"
        assert record["seq"] == int(seq) and (record["hash"] == hash_)
        out.append((msgid, record))
    return out


def kill_when(rsyslog, lines: int, killed: threading.Event) -> threading.Thread:
    def watch():
        deadline = time.monotonic() + 120
        seen, offset = 0, 0
        while time.monotonic() < deadline:
            try:
                with rsyslog.output.open("rb") as handle:  # only what was added since the last look
                    handle.seek(offset)
                    added = handle.read()
            except FileNotFoundError:
                added = b""
            offset += len(added)
            seen += added.count(b"\n")
            if seen >= lines:
                rsyslog.kill()
                killed.set()
                return
            time.sleep(0.002)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.serial  # kills and restarts a real receiver while streaming: timing-sensitive
@pytest.mark.django_db
def test_every_event_arrives_once_in_order_through_two_kills(rsyslog, tmp_path):
    record_events(300, "first")
    audit_checkpoint_create()
    record_events(300, "second")
    audit_checkpoint_create()
    head = AuditChainHead.objects.get(pk=1).last_seq

    for threshold in (120, 420):
        killed = threading.Event()
        watcher = kill_when(rsyslog, threshold, killed)
        while not killed.is_set():
            if not siem_stream_deliver(name="soc", url=rsyslog.url, max_records=100_000, batch=50):
                break
        watcher.join(timeout=60)
        assert killed.is_set(), "the receiver was never killed mid-stream"
        # The receiver is gone: the streamer cannot deliver and says so on the stream.
        assert siem_stream_deliver(name="soc", url=rsyslog.url) == 0
        stream = SiemStream.objects.get(name="soc")
        assert stream.failing_since is not None and "syslog+tls://127.0.0.1" in stream.last_error
        assert stream.last_seq < head
        rsyslog.start()

    while siem_stream_deliver(name="soc", url=rsyslog.url, batch=50):
        pass
    stream = SiemStream.objects.get(name="soc")
    assert (stream.last_seq, stream.failing_since, stream.last_error) == (head, None, "")
    assert stream.events_sent == head

    records = parsed(rsyslog.lines())
    events = [record for msgid, record in records if msgid == "pim-audit"]
    seqs = [event["seq"] for event in events]
    twice = sorted({seq for seq in seqs if seqs.count(seq) > 1})
    missing = sorted(set(range(1, head + 1)) - set(seqs))
    assert seqs == list(range(1, head + 1)), f"twice: {twice}, missing: {missing}"  # all, once, in order
    assert all(event["type"] == "pim-audit-event" for event in events)
    assert events[5]["justification"] == "ünïcödé \"quoted\" ]\\"
    # Each event links to the one before: the SIEM can follow the chain.
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in zip(events, events[1:], strict=False))
    checkpoints = [(index, record) for index, (msgid, record) in enumerate(records) if msgid == "pim-audit-witness"]
    assert len(checkpoints) == 2
    positions = {record["seq"]: index for index, (msgid, record) in enumerate(records) if msgid == "pim-audit"}
    keys = signing_keys()
    for index, checkpoint in checkpoints:
        assert witness_record_signature_valid(record=checkpoint, keys=keys)
        assert positions[checkpoint["seq"]] < index  # after the events it covers
        assert events[checkpoint["seq"] - 1]["hash"] == checkpoint["hash"]

    # Nothing new: nothing sent; the SIEM's copy serves as the witness of the log.
    assert siem_stream_deliver(name="soc", url=rsyslog.url) == 0
    assert len(rsyslog.lines()) == len(records)
    export = tmp_path / "siem-export.log"
    export.write_text("\n".join(rsyslog.lines()) + "\n")
    result = audit_chain_verify(witness=str(export))
    assert result.ok, result.summary()
    assert "witness agrees: 2 records" in result.witness


@pytest.mark.django_db
def test_the_command_streams_from_the_saved_cursor(rsyslog, settings, capsys):
    settings.PIM_SIEM_STREAMS = {"soc": rsyslog.url}
    record_events(20, "a")
    call_command("siem_stream")
    first = len(rsyslog.lines())
    assert first == AuditChainHead.objects.get(pk=1).last_seq
    record_events(5, "b")
    call_command("siem_stream", "--stream", "soc")
    assert len(rsyslog.lines()) == first + 5
    assert "soc: 5 records confirmed" in capsys.readouterr().out

"""On PostgreSQL the database seals each event (sha256 in SQL, in the statement that inserts it and
moves the chain head). Its hashes must be the bytes Python's `_seal` hashes, for awkward content too:
non-ASCII text, escapes, nested "seq" keys in snapshots, a string that looks like the seq key, floats,
IPv6 addresses; and the events of one transaction chain to each other in order."""

import pytest
from django.db import transaction

from audit import context
from audit.integrity import audit_chain_verify
from audit.models import AuditEvent
from audit.services import audit_event_hash, audit_event_record, canonical_around_seq

AWKWARD = [
    {"justification": 'Zürich — 東京 ✓ "quoted" \\ back\\slash\n\ttab \u2028', "before": {"seq": 0, "x": [1, 2.5]},
     "after": {"seq": 7, "nested": {"seq": 0, "z": None}}},
    {"justification": '"seq":0, inside a string', "message": '{"seq":0,}', "ticket": "T-1"},
    {"after": {"n": 10**15, "small": 1e-7, "x": 0.1, "neg": -2.0, "t": True}, "message": "\x01 control"},
]


@pytest.mark.django_db(transaction=True)
def test_the_database_seals_each_event_as_python_would(postgres, directory):
    recorded = []
    with context.bind(client_ip="2001:DB8:0:0::1"), transaction.atomic():
        for fields in AWKWARD:
            recorded.append(audit_event_record(action="test.awkward", **fields))
    stored = list(AuditEvent.objects.filter(pk__in=[e.pk for e in recorded]).order_by("seq"))
    assert [e.seq for e in stored] == [e.seq for e in recorded] == list(range(stored[0].seq, stored[0].seq + 3))
    for before, event in zip([stored[0].prev_hash, *[e.hash for e in stored]], stored, strict=False):
        assert event.prev_hash == before
        assert event.hash == audit_event_hash(event=event, prev_hash=event.prev_hash)
    for instance, event in zip(recorded, stored, strict=True):
        assert (instance.seq, instance.hash, instance.prev_hash) == (event.seq, event.hash, event.prev_hash)
    result = audit_chain_verify()
    assert result.ok, result.summary()


def test_the_canonical_bytes_split_around_the_top_level_seq_only():
    values = {"seq": 41, "occurred_at": None, "action": "a", "outcome": "success", "actor_id": None,
              "actor_label": "", "target_type": "", "target_id": '"seq":0,', "target_label": "", "principal_id": None,
              "principal_label": "", "role_id": None, "role_label": "", "scope_path": "", "justification": "",
              "ticket": "", "message": "", "before": {"seq": 0}, "after": {"seq": 0, "a": 1},
              "correlation_id": None, "client_ip": None}
    from audit.services import _canonical

    head, tail = canonical_around_seq(values)
    assert head + b"41" + tail == _canonical(values)

"""The chain head goes to the witness at least every PIM_AUDIT_WITNESS_EVERY_EVENTS events: moving the
head past a multiple of N queues the witness job on commit (single appends and the sweep's batches
alike), and the job writes the head as committed."""

import pytest

from audit.services import audit_event_record, audit_events_record_many

EVERY = 5


@pytest.fixture
def every_five(witness, settings):
    settings.PIM_AUDIT_WITNESS_EVERY_EVENTS = EVERY
    settings.PIM_AUDIT_WITNESS_EVERY_SECONDS = 3600  # only the event count matters here
    return witness


def test_the_head_is_witnessed_every_n_events(every_five, witness_records, db, celery_eager,
                                              django_capture_on_commit_callbacks):
    for n in range(23):
        with django_capture_on_commit_callbacks(execute=True):
            last = audit_event_record(action="test.counted", message=str(n)).seq
    heads = [record["seq"] for record in witness_records() if record["kind"] == "head"]
    assert {5, 10, 15, 20} <= set(heads), heads
    assert all(later - earlier <= EVERY for earlier, later in zip(heads, heads[1:], strict=False)), heads
    assert last - heads[-1] < EVERY

    with django_capture_on_commit_callbacks(execute=True):
        audit_events_record_many([{"action": "test.batch", "message": str(n)} for n in range(12)])
    assert witness_records()[-1]["seq"] == last + 12


def test_below_n_events_nothing_is_queued(every_five, witness_records, db, celery_eager,
                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        audit_event_record(action="test.counted")  # seq 1
    assert callbacks == [] and witness_records() == []

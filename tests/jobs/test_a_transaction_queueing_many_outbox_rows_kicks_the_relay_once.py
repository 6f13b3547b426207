"""A transaction that queues several side effects asks the broker to relay once, after its commit,
not once per row (each kick is a broker round trip)."""

from django.db import transaction

from notifications import outbox


def test_a_transaction_queueing_many_outbox_rows_kicks_the_relay_once(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            for n in range(3):
                outbox.outbox_enqueue(channel="email", dedupe_key=f"kick-once:{n}", payload={"n": n})
    assert [callback for callback in callbacks if callback is outbox.outbox_kick] == [outbox.outbox_kick]


def test_a_kick_dropped_with_a_rolled_back_savepoint_is_registered_again(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    outbox.outbox_enqueue(channel="email", dedupe_key="kick-again:rolled-back", payload={})
                    raise RuntimeError("roll this savepoint back")
            except RuntimeError:
                pass
            outbox.outbox_enqueue(channel="email", dedupe_key="kick-again:kept", payload={})
    assert [callback for callback in callbacks if callback is outbox.outbox_kick] == [outbox.outbox_kick]

"""Two audited transactions overlap: the first has recorded its event and is still working; a second
one records its own event and commits meanwhile, without waiting for the first (PostgreSQL, two real
connections). The chain head is locked only for the append at commit, not from the first event on."""

import threading

import pytest
from django.db import connection, transaction

from audit.integrity import audit_chain_verify
from audit.models import AuditEvent
from audit.services import audit_event_record

TIMEOUT = 15  # seconds; the second writer commits in milliseconds when nothing blocks it


@pytest.mark.django_db(transaction=True)
def test_a_writer_with_an_open_transaction_does_not_block_other_writers(postgres):
    first_recorded, second_committed = threading.Event(), threading.Event()
    seen: dict = {}
    errors: list = []

    def first():
        try:
            with transaction.atomic():
                audit_event_record(action="test.first", message="still working")
                first_recorded.set()
                # Still inside its transaction: did the other writer get through meanwhile?
                seen["second_committed_while_first_open"] = second_committed.wait(timeout=TIMEOUT)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    def second():
        try:
            assert first_recorded.wait(timeout=TIMEOUT)
            with transaction.atomic():
                audit_event_record(action="test.second", message="quick")
            second_committed.set()
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=3 * TIMEOUT)

    assert not errors, errors
    assert seen["second_committed_while_first_open"], "the second writer waited for the first one's commit"
    # Appended in commit order: the quick one first.
    assert list(AuditEvent.objects.order_by("seq").values_list("action", flat=True)) == ["test.second", "test.first"]
    result = audit_chain_verify()
    assert result.ok, result.summary()

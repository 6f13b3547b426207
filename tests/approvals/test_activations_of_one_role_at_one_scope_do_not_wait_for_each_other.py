"""Two people activating the same role at the same scope at once: each transition locks its own
eligibility (and principal), never the role definition or the scope row they share. A FOR UPDATE over
the joined role and scope made every activation of one role at `/` queue behind the one before it:
the API's throughput stayed flat however many clients were added (measured by bench/api_activations.py).
"""

import threading

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from assignments import services


class _Rollback(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_activations_of_one_role_at_one_scope_do_not_wait_for_each_other(postgres, directory):
    first = directory.grant(directory.user("first-requester"), "helpdesk-administrator", kind="eligible")
    second = directory.grant(directory.user("second-requester"), "helpdesk-administrator", kind="eligible")
    holding, release = threading.Event(), threading.Event()

    def hold_the_first_eligibility():
        try:
            with transaction.atomic():
                services.assignment_lock_eligibility(eligible=first, now=timezone.now())
                holding.set()
                release.wait(30)
                raise _Rollback
        except _Rollback:
            pass
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_first_eligibility)
    holder.start()
    try:
        assert holding.wait(15)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            try:
                locked = services.assignment_lock_eligibility(eligible=second, now=timezone.now())
            except OperationalError as error:  # the old lock waited on the shared role and scope rows
                pytest.fail(f"the second activation waited for the first one's lock: {error}")
            assert locked.pk == second.pk
    finally:
        release.set()
        holder.join(30)

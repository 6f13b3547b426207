"""Extending an activation made through a group takes its locks in the order every other transition
does: the eligibility, then the membership it is used through, then the activation. A removal of the
membership (which holds the membership, then ends the activation) can then never deadlock with it.

The test holds the membership's lock in its own transaction, as a removal does, while an
administrator extends the activation in another connection: the extension must wait on the
membership without holding the activation (the removal can still lock it), then finish once the
membership is released. Before, the extension locked the activation first; the removal's next step
would have waited on it: a deadlock."""

import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from assignments import services
from assignments.models import Assignment
from tests.approvals.activation_race import _wait_until


def _waiting_on_a_lock() -> bool:
    """Another backend waits on a lock (read afresh: inside a transaction the view is a snapshot)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0] >= 1


@pytest.mark.django_db(transaction=True)
def test_the_extension_waits_for_the_membership_without_holding_the_activation(postgres, directory, requester,
                                                                                role_admin, policy, activate):
    policy("helpdesk-administrator")
    group = directory.group("Helpdesk", role_assignable=True)
    membership = directory.add_member(group, requester, end=timezone.now() + timedelta(days=3))
    eligibility = directory.grant(group, "helpdesk-administrator", kind="eligible")
    activation = activate(requester, eligibility, duration_minutes=60).assignment
    outcome = {}

    def extend():
        try:
            services.assignment_extend(actor=role_admin, assignment=activation,
                                       end_at=timezone.now() + timedelta(hours=3), mfa_verified_at=timezone.now())
            outcome["extension"] = "done"
        except Exception as error:  # reported below
            outcome["extension"] = repr(error)
        finally:
            connection.close()

    with transaction.atomic():
        Assignment.objects.select_for_update().get(pk=membership.pk)  # as a removal of the membership does
        extension = threading.Thread(target=extend)
        extension.start()
        assert _wait_until(lambda: _waiting_on_a_lock() or outcome), "the extension never waited on the membership"
        assert not outcome, outcome
        try:
            # The removal's next step: lock the activation it ends. It must be free.
            Assignment.objects.select_for_update(nowait=True).get(pk=activation.pk)
            activation_free = True
        except DatabaseError:
            activation_free = False
    extension.join(30)
    assert activation_free, "the extension held the activation while it waited for the membership"
    assert outcome == {"extension": "done"}

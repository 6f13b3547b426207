"""An activation through a group's eligibility and an administrator's removal of the requester's
membership of that group, at the same time.

The activation is held at the moment its request row is inserted (another connection holds an
uncommitted open request for the same eligibility, so the insert waits on the unique index) while
the removal of the membership runs. Whatever the order, no live activation of the group's
eligibility may remain for the former member, and the access check must not grant the role.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from approvals import services as approval_services
from approvals.models import Request
from assignments import services
from assignments.access import access_find_grant
from assignments.models import Assignment
from core.errors import DomainError


class _Rollback(Exception):
    pass


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


def _wait_until(condition, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.django_db(transaction=True)
def test_activation_racing_removal_of_the_membership_leaves_no_live_activation(postgres, directory, requester,
                                                                              role_admin, policy):
    policy("helpdesk-administrator")
    group = directory.group("Helpdesk", role_assignable=True)
    membership = directory.add_member(group, requester)
    eligibility = directory.grant(group, "helpdesk-administrator", kind="eligible")
    # Old enough to be removed (the 5-minute rule is not what this test is about).
    Assignment.objects.filter(pk=membership.pk).update(created_at=timezone.now() - timedelta(minutes=10),
                                                       start_at=timezone.now() - timedelta(minutes=10))
    membership.refresh_from_db()

    blocker_ready, release_blocker = threading.Event(), threading.Event()
    outcomes = {}

    def hold_an_open_request():
        try:
            with transaction.atomic():
                Request.objects.create(action=Request.Action.SELF_ACTIVATE, status=Request.Status.PENDING_APPROVAL,
                                       requested_by=requester, principal=requester.principal,
                                       role=eligibility.role, scope=eligibility.scope, kind="active",
                                       eligible_assignment=eligibility, created_at=timezone.now())
                blocker_ready.set()
                release_blocker.wait(30)
                raise _Rollback
        except _Rollback:
            pass
        finally:
            connection.close()

    def activate():
        try:
            approval_services.request_self_activate(actor=requester, eligible_assignment=eligibility,
                                                    duration_minutes=60, justification="incident",
                                                    mfa_verified_at=timezone.now())
            outcomes["activation"] = "done"
        except DomainError as error:
            outcomes["activation"] = error.code
        finally:
            connection.close()

    def remove():
        try:
            services.assignment_remove(actor=role_admin, assignment=membership, justification="leaver")
            outcomes["removal"] = "done"
        except DomainError as error:
            outcomes["removal"] = error.code
        finally:
            connection.close()

    blocker = threading.Thread(target=hold_an_open_request)
    blocker.start()
    assert blocker_ready.wait(10)
    activation = threading.Thread(target=activate)
    activation.start()
    assert _wait_until(lambda: _lock_waiters() >= 1), "the activation never reached its insert"
    removal = threading.Thread(target=remove)
    removal.start()
    # The removal either finishes while the activation waits, or waits for the activation's lock.
    _wait_until(lambda: not removal.is_alive() or _lock_waiters() >= 2)
    release_blocker.set()
    for thread in (blocker, activation, removal):
        thread.join(30)

    assert outcomes["removal"] == "done"
    membership.refresh_from_db()
    assert membership.status == Assignment.Status.ENDED
    assert not Assignment.objects.filter(activated_from=eligibility, principal=requester.principal,
                                         status=Assignment.Status.LIVE).exists()
    assert access_find_grant(principal=requester.principal, role=eligibility.role, scope=directory.root) is None

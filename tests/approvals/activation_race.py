"""The race both removal tests run: an activation held at the moment its request row is inserted
(another connection holds an uncommitted open request for the same eligibility, so the insert waits
on the unique index) while an administrator removes `removed` (the eligibility, or the membership it
is used through). Returns what became of each: "done" or the refusal's code."""

import threading
import time

from django.db import connection, transaction
from django.utils import timezone

from approvals import services as approval_services
from approvals.models import Request
from assignments import services
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


def race_activation_against_removal(*, requester, eligibility, removed, role_admin) -> dict[str, str]:
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

    def outcome_of(name, call):
        try:
            call()
            outcomes[name] = "done"
        except DomainError as error:
            outcomes[name] = error.code
        finally:
            connection.close()

    def activate():
        outcome_of("activation", lambda: approval_services.request_self_activate(
            actor=requester, eligible_assignment=eligibility, duration_minutes=60, justification="incident",
            mfa_verified_at=timezone.now()))

    def remove():
        outcome_of("removal", lambda: services.assignment_remove(actor=role_admin, assignment=removed,
                                                                 justification="leaver"))

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
    return outcomes

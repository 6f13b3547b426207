"""Separation of duties when access is gained other than by a new assignment: making an eligibility
active, extending, renewing and changing the dates of an assignment are refused by a refuse set and let
through with a flag (audited in the change's transaction) by a flag set, when the person holds or is
eligible for the other role of the set at an overlapping scope."""

import pytest
import time_machine

from assignments import services
from assignments.models import Assignment
from audit.models import AuditEvent
from core.actors import Actor
from core.errors import DomainError

ADMIN = Actor.system("test-admin")
SCOPE = "/subscriptions/pay"


def _flags():
    return list(AuditEvent.objects.filter(action="separation_of_duties.flag").values_list("message", flat=True))


def _make_active(directory, user, later):
    eligible = directory.grant(user, "payments-approver", SCOPE, kind="eligible")
    return lambda: services.assignment_make_active(actor=ADMIN, assignment=eligible, justification="rollback"), \
        lambda: Assignment.objects.filter(principal=user.principal, role__slug="payments-approver",
                                          kind="active").exists()


def _extend(directory, user, later):
    active = directory.grant(user, "payments-approver", SCOPE, kind="active", end=later(days=3))
    return lambda: services.assignment_extend(actor=ADMIN, assignment=active, end_at=later(days=10),
                                              justification="longer"), \
        lambda: Assignment.objects.get(pk=active.pk).end_at > later(days=5)


def _update(directory, user, later):
    eligible = directory.grant(user, "payments-approver", SCOPE, kind="eligible", start=later(days=2),
                               end=later(days=30))
    return lambda: services.assignment_update(actor=ADMIN, assignment=eligible, start_at=later(days=1),
                                              end_at=later(days=60)), \
        lambda: Assignment.objects.get(pk=eligible.pk).end_at > later(days=40)


def _renew(directory, user, later):
    expired = directory.grant(user, "payments-approver", SCOPE, kind="active", end=later(minutes=10))

    def renew():
        with time_machine.travel(later(days=1)):
            return services.assignment_renew(actor=ADMIN, assignment=expired, end_at=later(days=20),
                                             justification="again")

    return renew, lambda: Assignment.objects.filter(principal=user.principal, role__slug="payments-approver") \
        .count() == 2


PATHS = {"make active": _make_active, "extension": _extend, "update": _update, "renewal": _renew}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mode", ["refuse", "flag"])
def test_the_change_is_refused_or_flagged_per_set(directory, conflict_set, later, path, mode):
    user = directory.user()
    directory.grant(user, "payments-submitter", SCOPE, kind="eligible")
    change, happened = PATHS[path](directory, user, later)  # arranged before the set existed
    conflict_set(mode)
    if mode == "refuse":
        with pytest.raises(DomainError, match=r"Separation of duties \(Payments\)") as refused:
            change()
        assert refused.value.code == "conflict"
        assert not happened()
        assert _flags() == []
    else:
        change()
        assert happened()
        [flag] = _flags()
        assert f"Flagged at {path}." in flag and "Payments approver" in flag


@pytest.mark.parametrize("path", PATHS)
def test_without_the_other_role_the_change_goes_through(directory, conflict_set, later, path):
    user = directory.user()
    directory.grant(user, "payments-submitter", "/subscriptions/other", kind="eligible")  # no overlap
    change, happened = PATHS[path](directory, user, later)
    conflict_set("refuse")
    change()
    assert happened()

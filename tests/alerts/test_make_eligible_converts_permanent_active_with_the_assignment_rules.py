"""assignment_make_eligible: a permanent active assignment becomes eligible, in one audited
transaction, under the same rules as removing and assigning."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from alerts.services import assignment_make_eligible
from assignments.models import Assignment
from audit.models import AuditEvent
from core.actors import Actor
from core.errors import DomainError

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def _later(minutes=10):
    return time_machine.travel(timezone.now() + timedelta(minutes=minutes))


def test_converts_and_audits(directory, role_admin):
    user = directory.user("eve")
    active = directory.grant(user, "helpdesk-administrator")
    with _later():
        eligible = assignment_make_eligible(actor=role_admin, assignment=active, justification="just in time")
    active.refresh_from_db()
    assert (active.status, active.end_reason) == ("ended", Assignment.EndReason.MADE_ELIGIBLE)
    assert (eligible.kind, eligible.status, eligible.end_at, eligible.principal) == ("eligible", "live", None,
                                                                                      user.principal)
    event = AuditEvent.objects.get(action="assignment.make_eligible")
    assert event.actor_id == role_admin.pk and event.before["kind"] == "active" and event.after["kind"] == "eligible"
    assert event.justification == "just in time"


def test_refused_within_five_minutes_and_for_non_administrators(directory, role_admin):
    active = directory.grant(directory.user("eve"), "helpdesk-administrator")
    with pytest.raises(DomainError, match="5 minutes"):
        assignment_make_eligible(actor=role_admin, assignment=active, justification="x")
    outsider = directory.user("outsider")
    with _later(), pytest.raises(DomainError) as refused:
        assignment_make_eligible(actor=outsider, assignment=active, justification="x")
    assert refused.value.code == "forbidden"
    assert AuditEvent.objects.filter(action="assignment.make_eligible", outcome="denied").count() == 2
    active.refresh_from_db()
    assert active.status == "live"


def test_policy_expiration_for_eligible_applies(directory, role_admin):
    from assignments.services import role_setting_update

    role = directory.role("user-administrator")
    role_setting_update(actor=SETUP, role=role, scope=directory.root,
                        values={"allow_permanent_eligible": False, "expire_eligible_after": "P1M"})
    active = directory.grant(directory.user("eve"), "user-administrator")
    with _later():
        with pytest.raises(DomainError, match="does not allow permanent eligible"):
            assignment_make_eligible(actor=role_admin, assignment=active, justification="x")
        end = timezone.now() + timedelta(days=20)
        eligible = assignment_make_eligible(actor=role_admin, assignment=active, end_at=end, justification="x")
    assert eligible.end_at == end


def test_emergency_accounts_time_bound_and_activations_are_refused(directory, role_admin):
    breakglass = Assignment.objects.get(principal__user__username="breakglass1", status="live")
    timebound = directory.grant(directory.user("eve"), "helpdesk-administrator",
                                end=timezone.now() + timedelta(days=3))
    with _later():
        with pytest.raises(DomainError, match="emergency access"):
            assignment_make_eligible(actor=role_admin, assignment=breakglass, justification="x")
        with pytest.raises(DomainError, match="permanent"):
            assignment_make_eligible(actor=role_admin, assignment=timebound, justification="x")


def test_never_the_last_active_privileged_role_administrator(directory, global_admin):
    from assignments.models import Assignment as A

    pra = directory.user("pra")
    assignment = directory.grant(pra, "privileged-role-administrator")
    with _later(), pytest.raises(DomainError, match="last active Privileged Role Administrator"):
        assignment_make_eligible(actor=global_admin, assignment=assignment, justification="x")
    assert A.objects.get(pk=assignment.pk).status == "live"


def test_already_eligible_only_ends_the_active_one(directory, role_admin):
    user = directory.user("eve")
    existing = directory.grant(user, "helpdesk-administrator", kind="eligible")
    active = directory.grant(user, "helpdesk-administrator")
    with _later():
        eligible = assignment_make_eligible(actor=role_admin, assignment=active, justification="x")
    assert eligible.pk == existing.pk
    assert Assignment.objects.filter(principal=user.principal, status="live").count() == 1

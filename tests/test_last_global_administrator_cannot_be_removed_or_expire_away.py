from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments import services
from assignments.models import Assignment, RoleDefinition
from core.actors import Actor
from core.errors import DomainError

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def _ga_assignments():
    return Assignment.objects.filter(role__slug=RoleDefinition.GLOBAL_ADMINISTRATOR, kind="active", status="live")


def test_last_global_administrator_cannot_be_removed(directory):
    first, second = _ga_assignments().order_by("pk")  # the two emergency access accounts
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        services.assignment_remove(actor=SETUP, assignment=first)  # another one remains: allowed
        with pytest.raises(DomainError, match="last active Global Administrator"):
            services.assignment_remove(actor=SETUP, assignment=second)
    assert _ga_assignments().count() == 1


def test_last_global_administrator_cannot_be_given_an_end(directory):
    first, second = _ga_assignments().order_by("pk")
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        services.assignment_remove(actor=SETUP, assignment=first)
        with pytest.raises(DomainError, match="last active Global Administrator"):
            services.assignment_update(
                actor=SETUP, assignment=second, start_at=None, end_at=timezone.now() + timedelta(days=1)
            )


def test_last_privileged_role_administrator_is_protected_too(directory):
    user = directory.user()
    assignment = directory.grant(user, "privileged-role-administrator")
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        with pytest.raises(DomainError, match="last active Privileged Role Administrator"):
            services.assignment_remove(actor=SETUP, assignment=assignment)
        other = directory.user()
        directory.grant(other, "privileged-role-administrator")
        assert services.assignment_remove(actor=SETUP, assignment=assignment).status == "ended"


def test_removing_an_eligibility_cannot_end_the_last_global_administrators_activation(directory):
    """The eligibility's live activations end with it; the last one of Global Administrator must not."""
    user = directory.user()
    eligible = directory.grant(user, RoleDefinition.GLOBAL_ADMINISTRATOR, kind="eligible")
    activation = Assignment.objects.create(
        principal=user.principal, role=eligible.role, scope=eligible.scope, kind="active", activated_from=eligible,
        start_at=timezone.now(), end_at=timezone.now() + timedelta(hours=2), created_at=timezone.now())
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        for other in _ga_assignments().exclude(pk=activation.pk):
            services.assignment_end(assignment=other, reason="removed", now=timezone.now(), actor=SETUP)
        with pytest.raises(DomainError, match="last active Global Administrator"):
            services.assignment_remove(actor=SETUP, assignment=eligible)
    activation.refresh_from_db()
    eligible.refresh_from_db()
    assert activation.status == eligible.status == "live"

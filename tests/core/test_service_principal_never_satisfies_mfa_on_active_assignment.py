"""At the service level, a service principal is held to "require MFA on active assignment" like a
person, and never satisfies it (it cannot verify, whatever time it claims): make active, renew and
assign active are refused with a message that says why."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments import services
from core.actors import Actor
from core.errors import DomainError

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


@pytest.fixture
def bot(directory):
    """A service principal holding User Access Administrator at /subscriptions/s1, where Reader
    requires MFA on active assignment."""
    s1 = directory.scope("/subscriptions/s1")
    sp = directory.service_principal("deploy-bot")
    directory.grant(sp, "user-access-administrator", s1, end=timezone.now() + timedelta(days=30))
    services.role_setting_update(actor=SETUP, role=directory.role("reader"), scope=s1,
                                 values={"require_mfa_on_active_assignment": True})
    return Actor.service_principal(sp)


def _refused_for_mfa(error: DomainError) -> bool:
    return error.code == "forbidden" and error.field == "mfa" and "service principal" in error.message


def test_make_active_is_refused(directory, bot):
    eligible = directory.grant(directory.user(), "reader", "/subscriptions/s1", kind="eligible")
    with pytest.raises(DomainError) as refused:
        services.assignment_make_active(actor=bot, assignment=eligible, justification="rollback",
                                        mfa_verified_at=timezone.now())
    assert _refused_for_mfa(refused.value)
    eligible.refresh_from_db()
    assert eligible.status == "live"


def test_renew_is_refused(directory, bot):
    end = timezone.now() + timedelta(days=1)
    active = directory.grant(directory.user(), "reader", "/subscriptions/s1", end=end)
    with time_machine.travel(end + timedelta(days=1)):
        with pytest.raises(DomainError) as refused:
            services.assignment_renew(actor=bot, assignment=active, end_at=timezone.now() + timedelta(days=5),
                                      justification="still needed")
    assert _refused_for_mfa(refused.value)


def test_assign_active_is_refused(directory, bot):
    target = directory.user()
    with pytest.raises(DomainError) as refused:
        services.assignment_create(actor=bot, principal=target.principal, role=directory.role("reader"),
                                   scope=directory.scope("/subscriptions/s1"), kind="active",
                                   end_at=timezone.now() + timedelta(days=3), justification="pipeline")
    assert _refused_for_mfa(refused.value)
    assert not target.principal.assignments.exists()


def test_eligible_assignments_need_no_mfa(directory, bot):
    target = directory.user()
    created = services.assignment_create(actor=bot, principal=target.principal, role=directory.role("reader"),
                                         scope=directory.scope("/subscriptions/s1"), kind="eligible",
                                         justification="pipeline")
    assert created.created_by is None

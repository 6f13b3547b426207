"""Disabling a user is offboarding: everything they hold ends in the same transaction, each ending
audited and announced, so that targets hear of it and the access check denies at commit."""
from datetime import timedelta

import pytest
from django.utils import timezone

from assignments import services
from assignments.access import access_find_grant
from assignments.models import Assignment
from audit.models import AuditEvent
from core import domain_events
from core.actors import Actor
from core.errors import DomainError

SETUP = Actor.system("test-setup")


def test_disabling_a_user_ends_their_eligible_active_membership_and_activated_assignments(directory, global_admin):
    user, group = directory.user(), directory.group()
    eligible = directory.grant(user, "exchange-administrator", kind="eligible")
    active = directory.grant(user, "reader", "/subscriptions/s1")
    membership = directory.add_member(group, user)
    activation = Assignment.objects.create(
        principal=user.principal, role=eligible.role, scope=eligible.scope, kind="active", activated_from=eligible,
        start_at=timezone.now(), end_at=timezone.now() + timedelta(hours=2), created_at=timezone.now())
    heard = []

    def listener(*, name, **payload):
        heard.append((name, payload.get("assignment").pk))

    domain_events.subscribe(listener)
    try:
        services.user_set_enabled(user=user, enabled=False, actor=global_admin, mfa_verified_at=timezone.now())
    finally:
        domain_events._subscribers.remove(listener)

    for assignment in (eligible, active, membership, activation):
        assignment.refresh_from_db()
        assert assignment.status == Assignment.Status.ENDED
        assert ("assignment.removed", assignment.pk) in heard
    assert active.end_reason == Assignment.EndReason.PRINCIPAL_DISABLED
    assert activation.end_reason in {Assignment.EndReason.PRINCIPAL_DISABLED, Assignment.EndReason.ELIGIBILITY_ENDED}
    assert not access_find_grant(principal=user.principal, role="reader", scope="/subscriptions/s1")
    ended = AuditEvent.objects.filter(action="assignment.end", principal_id=user.principal.pk)
    assert ended.count() == 4
    assert AuditEvent.objects.filter(action="user.disable", target_id=str(user.pk)).count() == 1


def test_disabling_twice_is_a_no_op(directory, global_admin):
    user = directory.user()
    directory.grant(user, "reader", "/subscriptions/s1")
    services.user_set_enabled(user=user, enabled=False, actor=global_admin, mfa_verified_at=timezone.now())
    events = AuditEvent.objects.count()
    services.user_set_enabled(user=user, enabled=False, actor=global_admin, mfa_verified_at=timezone.now())
    assert AuditEvent.objects.count() == events


def test_the_last_global_administrator_cannot_be_disabled(directory):
    from assignments.selectors import role_held_count

    holders = Assignment.objects.filter(role__slug="global-administrator", kind="active", status="live")
    assert role_held_count(role_slug="global-administrator", scope=directory.root) >= 1
    holder = holders.select_related("principal__user").first().principal.user
    for other in holders.exclude(principal__user=holder):
        services.assignment_end(assignment=other, reason="removed", now=timezone.now(), actor=SETUP)
    with pytest.raises(DomainError, match="last active Global Administrator"):
        services.user_set_enabled(user=holder, enabled=False, actor=SETUP)
    holder.refresh_from_db()
    assert holder.is_active


def test_a_person_without_a_directory_role_cannot_disable_users(directory):
    user, other = directory.user(), directory.user()
    with pytest.raises(DomainError, match="not allowed"):
        services.user_set_enabled(user=other, enabled=False, actor=user)
    other.refresh_from_db()
    assert other.is_active

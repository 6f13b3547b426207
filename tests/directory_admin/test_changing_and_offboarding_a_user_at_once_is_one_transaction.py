"""`user_change` (what `PATCH /api/v1/users/<id>/` calls) changes a user's details and enables or offboards
them in one transaction: when the second part is refused, the first is not left behind, and each part's
change or refusal is audited once. The count of ended assignments is what the offboarding ended."""

import pytest
from django.utils import timezone

from assignments import services
from assignments.models import Assignment, User
from audit.models import AuditEvent
from core.errors import DomainError

pytestmark = pytest.mark.django_db


def test_a_refused_offboarding_leaves_the_new_name_unwritten(directory, global_admin):
    name = global_admin.display_name
    with pytest.raises(DomainError, match="your own account"):
        services.user_change(user=global_admin, actor=global_admin, mfa_verified_at=timezone.now(),
                             display_name="Renamed before the refusal", enabled=False)
    assert User.objects.get(pk=global_admin.pk).display_name == name
    assert not AuditEvent.objects.filter(action="user.update", outcome="success",
                                         target_id=str(global_admin.pk)).exists()
    assert AuditEvent.objects.filter(action="user.set_enabled", outcome="denied").count() == 1


def test_a_refused_detail_offboards_nobody(directory, global_admin):
    user = directory.user("leaver")
    directory.grant(user, "reader", "/subscriptions/s1", kind="active")
    with pytest.raises(DomainError):
        services.user_change(user=user, actor=global_admin, mfa_verified_at=timezone.now(),
                             time_zone="Nowhere/Land", enabled=False)
    assert User.objects.get(pk=user.pk).is_active
    assert Assignment.objects.filter(principal=user.principal, status="live").count() == 1


def test_details_and_offboarding_together_report_what_ended(directory, global_admin):
    user = directory.user("leaver")
    eligible = directory.grant(user, "helpdesk-administrator", kind="eligible")
    directory.grant(user, "reader", "/subscriptions/s1", kind="active")
    result = services.user_change(user=user, actor=global_admin, mfa_verified_at=timezone.now(),
                                  display_name="Leaver (gone)", enabled=False, justification="Left")
    assert (result.changed, result.ended_assignments, result.user.is_active, result.user.display_name) == (
        True, 2, False, "Leaver (gone)")
    assert not Assignment.objects.filter(principal=user.principal, status="live").exists()
    eligible.refresh_from_db()
    assert eligible.end_reason == Assignment.EndReason.PRINCIPAL_DISABLED
    again = services.user_change(user=result.user, actor=global_admin, mfa_verified_at=timezone.now(),
                                 display_name="Leaver (gone)", enabled=False)
    assert (again.changed, again.ended_assignments) == (False, 0)

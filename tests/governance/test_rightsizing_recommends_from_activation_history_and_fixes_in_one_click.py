"""Right-sizing from activation history: an eligibility unused for 30 days is recommended for removal,
a maximum duration at least twice the longest use is recommended lower, two eligibilities always
activated together are recommended as a group, standing active access as eligible; the one-click
fixes go through the ordinary services (audited) and the recommendation is then gone."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments.models import Assignment, RoleSetting
from audit.models import AuditEvent
from core.errors import DomainError
from governance import rightsizing


def _activate_for(activate, user, eligible, minutes):
    return activate(user, eligible, duration_minutes=minutes)


def test_recommendations_and_fixes(directory, activate, policy, global_admin):
    start = timezone.now()
    idle, busy = directory.user("idle"), directory.user("busy")
    directory.grant(global_admin, "owner")  # resource roles (and their policies at /) are managed by Owners
    policy("contributor", max_activation_minutes=8 * 60)
    policy("reader", max_activation_minutes=8 * 60)
    unused = directory.grant(idle, "contributor", "/subscriptions/pay", kind="eligible")
    standing = directory.grant(idle, "reader", "/subscriptions/pay", kind="active")
    contributor = directory.grant(busy, "contributor", "/subscriptions/pay/resourceGroups/rg1", kind="eligible")
    reader = directory.grant(busy, "reader", "/subscriptions/pay/resourceGroups/rg1", kind="eligible")
    for day in range(1, 4):  # three days of activating both, for an hour, together
        with time_machine.travel(start + timedelta(days=30 + day)):
            _activate_for(activate, busy, contributor, 60)
            _activate_for(activate, busy, reader, 45)
    now = start + timedelta(days=34)
    with time_machine.travel(now):
        found = {r.key: r for r in rightsizing.recommendations_list()}
        assert f"unused_eligibility:{unused.pk}" in found
        assert f"unused_eligibility:{contributor.pk}" not in found  # used
        assert f"make_eligible:{standing.pk}" in found
        lower = [r for r in found.values() if r.kind == "lower_maximum"]
        assert {(r.role, r.setting["suggested"]) for r in lower} == {("Contributor", 60), ("Reader", 60)}
        assert f"group_together:{contributor.pk}:{reader.pk}" in found

        with pytest.raises(DomainError, match="Verify with your authenticator"):
            rightsizing.rightsizing_apply(actor=global_admin, key=lower[0].key)
        rightsizing.rightsizing_apply(actor=global_admin, key=lower[0].key, mfa_verified_at=timezone.now())
        assert RoleSetting.objects.get(role__name=lower[0].role, scope__path="/").max_activation_minutes == 60
        rightsizing.rightsizing_apply(actor=global_admin, key=f"unused_eligibility:{unused.pk}",
                                      mfa_verified_at=timezone.now())
        unused.refresh_from_db()
        assert unused.status == Assignment.Status.ENDED
        rightsizing.rightsizing_apply(actor=global_admin, key=f"make_eligible:{standing.pk}", justification="JIT",
                                      mfa_verified_at=timezone.now())
        assert Assignment.objects.filter(principal=idle.principal, role__slug="reader", kind="eligible",
                                         status="live").exists()
        assert AuditEvent.objects.filter(action="assignment.make_eligible", actor_id=global_admin.pk).exists()
        left = {r.key for r in rightsizing.recommendations_list()}
        assert not {f"unused_eligibility:{unused.pk}", f"make_eligible:{standing.pk}", lower[0].key} & left
        with pytest.raises(DomainError, match="no longer holds"):
            rightsizing.rightsizing_apply(actor=global_admin, key=f"unused_eligibility:{unused.pk}",
                                          mfa_verified_at=timezone.now())
        with pytest.raises(DomainError, match="no one-click fix"):
            rightsizing.rightsizing_apply(actor=global_admin, key=f"group_together:{contributor.pk}:{reader.pk}")

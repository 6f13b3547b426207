import pytest
from django.utils import timezone

from assignments import services
from assignments.access import access_has_any_role
from audit.models import AuditEvent
from core.errors import DomainError


def test_global_administrator_elevates_to_user_access_administrator_at_root(directory, global_admin):
    sub = directory.scope("/subscriptions/s1/resourceGroups/rg1")
    assert not access_has_any_role(
        principal=global_admin.principal, role_slugs=["user-access-administrator"], scope=sub
    )
    services.access_elevate(actor=global_admin, justification="Find subscription owners",
                            mfa_verified_at=timezone.now())
    assert access_has_any_role(principal=global_admin.principal, role_slugs=["user-access-administrator"], scope=sub)
    assert AuditEvent.objects.filter(action="access.elevate", actor_id=global_admin.pk, outcome="success").exists()
    assert services.access_elevate_end(actor=global_admin) == 1
    assert not access_has_any_role(
        principal=global_admin.principal, role_slugs=["user-access-administrator"], scope=sub
    )


def test_others_cannot_elevate_and_the_attempt_is_audited(directory, role_admin):
    with pytest.raises(DomainError, match="Only an active Global Administrator"):
        services.access_elevate(actor=role_admin, justification="curious", mfa_verified_at=timezone.now())
    assert AuditEvent.objects.filter(action="access.elevate", actor_id=role_admin.pk, outcome="denied").exists()

"""An administrative token, created on the tokens page right after a fresh MFA verification, makes the
privileged changes a general token cannot (the Global Administrator policy, a privileged assignment),
for `PIM_API_ADMIN_TOKEN_MINUTES` only: afterwards it no longer authenticates."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from api.models import ApiToken
from assignments import selectors
from assignments.models import Assignment
from tests.api.conftest import bearer


def test_administrative_token_changes_policy_and_assigns_then_expires(directory, role_admin, token_from_page, settings):
    settings.PIM_API_ADMIN_TOKEN_MINUTES = 60
    ga = directory.role("global-administrator")
    secret = token_from_page(role_admin, purpose="administration")
    token = ApiToken.objects.get(user=role_admin)
    assert token.purpose == ApiToken.Purpose.ADMINISTRATION and token.mfa_verified_at is not None
    assert token.expires_at - token.created_at == timedelta(minutes=60)
    client = bearer(secret)

    # Well past the 10-minute step-up window, but within the token's lifetime.
    with time_machine.travel(timezone.now() + timedelta(minutes=45)):
        changed = client.post("/api/v1/role-settings/", {"reason": "test", "role": "global-administrator",
                                                          "max_activation_minutes": 120}, format="json")
        assert changed.status_code == 200, changed.json()
        colleague = directory.user("colleague")
        assigned = client.post("/api/v1/assignments/", {
            "principal": colleague.principal.pk, "role": "global-administrator", "scope": "/", "kind": "eligible",
        }, format="json")
        assert assigned.status_code == 201, assigned.json()
    assert selectors.role_setting_effective(role=ga, scope=directory.root).max_activation_minutes == 120

    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        late = client.post("/api/v1/role-settings/", {"reason": "test", "role": "global-administrator",
                                                       "max_activation_minutes": 60}, format="json")
        assert late.status_code == 401
    assert selectors.role_setting_effective(role=ga, scope=directory.root).max_activation_minutes == 120
    assert Assignment.objects.filter(principal=colleague.principal, role=ga, kind="eligible").count() == 1

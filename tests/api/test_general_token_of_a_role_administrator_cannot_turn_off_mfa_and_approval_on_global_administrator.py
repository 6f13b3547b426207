"""The reproduced escalation, first step: a Privileged Role Administrator's ordinary personal token,
with no step-up, turned off MFA and approval on the Global Administrator policy. A general token now
gets a 403 that says how to get an administrative token, and the policy stays as it was."""

from assignments import selectors
from assignments.services import role_setting_update
from audit.models import AuditEvent
from tests.api.conftest import bearer
from tests.conftest import SETUP


def test_policy_of_global_administrator_is_unchanged_and_the_refusal_says_how(directory, role_admin, token_from_page):
    ga = directory.role("global-administrator")
    role_setting_update(actor=SETUP, role=ga, scope=directory.root,
                        values={"require_mfa_on_activation": True, "require_approval": True})
    secret = token_from_page(role_admin)

    response = bearer(secret).post("/api/v1/role-settings/", {"reason": "test",
        "role": "global-administrator", "require_mfa_on_activation": False, "require_approval": False,
    }, format="json")

    assert response.status_code == 403, response.json()
    error = response.json()["error"]
    assert error["field"] == "admin_mfa"
    assert "settings of Global Administrator" in error["message"]
    assert "/api/v1/tokens/" in error["message"] and "administration" in error["message"]
    setting = selectors.role_setting_effective(role=ga, scope=directory.root)
    assert setting.require_mfa_on_activation and setting.require_approval
    assert AuditEvent.objects.filter(action="api.write", outcome="denied").exists()

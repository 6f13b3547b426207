"""The reproduced escalation, second step: with her ordinary token the Privileged Role Administrator made
herself eligible for Global Administrator. A general token cannot assign a privileged role (eligible or
active, to herself or anyone); a non-privileged role it still can."""

from assignments.models import Assignment
from tests.api.conftest import bearer


def test_assigning_global_administrator_is_refused_but_a_reader_role_is_not(directory, role_admin, token_from_page):
    client = bearer(token_from_page(role_admin))

    refused = client.post("/api/v1/assignments/", {
        "principal": role_admin.principal.pk, "role": "global-administrator", "scope": "/", "kind": "eligible",
    }, format="json")
    assert refused.status_code == 403, refused.json()
    assert refused.json()["error"]["field"] == "admin_mfa"
    assert "assign Global Administrator" in refused.json()["error"]["message"]
    assert not Assignment.objects.filter(principal=role_admin.principal, role__slug="global-administrator").exists()

    colleague = directory.user("colleague")
    allowed = client.post("/api/v1/assignments/", {
        "principal": colleague.principal.pk, "role": "exchange-administrator", "scope": "/", "kind": "eligible",
    }, format="json")
    assert allowed.status_code == 201, allowed.json()

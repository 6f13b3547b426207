"""The tokens page shows whether a token is for administration (and when its creator verified); the
`api.token_create` audit event records the purpose and the verification time."""

from api.models import ApiToken
from audit.models import AuditEvent


def test_purpose_is_listed_and_audited(directory, token_from_page, verified_client):
    user = directory.user("alice")
    token_from_page(user, purpose="administration", name="admin-task")
    token_from_page(user, purpose="general", name="reader")
    admin_token = ApiToken.objects.get(name="admin-task")

    page = verified_client(user).get("/api/v1/tokens/").content.decode()
    row = page.split("admin-task", 1)[1].split("</tr>", 1)[0]
    assert "Administration" in row and "verified" in row
    general_row = page.split(">reader<", 1)[1].split("</tr>", 1)[0]
    assert "General" in general_row

    event = AuditEvent.objects.get(action="api.token_create", target_id=str(admin_token.pk))
    assert event.after["purpose"] == "administration"
    assert event.after["mfa_verified_at"]

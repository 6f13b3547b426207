from api.models import ApiToken
from tests.conftest import mark_mfa_verified


def test_person_creates_a_token_sees_it_once_and_revokes_it(client, directory):
    user = directory.user("alice")
    client.force_login(user)
    mark_mfa_verified(client)
    page = client.get("/api/v1/tokens/")
    assert page.status_code == 200
    created = client.post("/api/v1/tokens/", {"for": "personal", "name": "ci", "days": "30"})
    assert created.status_code == 200
    token = ApiToken.objects.get(user=user)
    body = created.content.decode()
    assert f"pim_{token.prefix}_" in body
    assert created["Cache-Control"] == "no-store"
    again = client.get("/api/v1/tokens/").content.decode()
    assert f"pim_{token.prefix}_…" in again
    secret_part = body.split(f"pim_{token.prefix}_", 1)[1][:20]
    assert secret_part not in again
    assert "Service principal credentials" not in again  # not a directory administrator
    client.post(f"/api/v1/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_directory_admin_creates_a_service_principal_credential(client, directory):
    admin = directory.user("admin")
    directory.grant(admin, "privileged-role-administrator")
    sp = directory.service_principal("deploy-bot")
    client.force_login(admin)
    mark_mfa_verified(client)
    response = client.post("/api/v1/tokens/", {"for": "service_principal", "service_principal": sp.pk,
                                               "name": "deploy", "days": "90"})
    assert response.status_code == 200
    token = ApiToken.objects.get(principal=sp)
    assert token.kind == "service_principal" and token.user is None
    assert f"pim_{token.prefix}_" in response.content.decode()


def test_people_without_a_directory_admin_role_cannot_issue_service_principal_credentials(client, directory):
    user = directory.user("alice")
    sp = directory.service_principal("deploy-bot")
    client.force_login(user)
    response = client.post("/api/v1/tokens/", {"for": "service_principal", "service_principal": sp.pk,
                                               "name": "deploy", "days": "90"})
    assert response.status_code == 403
    assert not ApiToken.objects.filter(principal=sp).exists()
    assert "Only Global Administrators" in response.content.decode()


def test_token_page_needs_sign_in(client, directory):
    response = client.get("/api/v1/tokens/")
    assert response.status_code == 302

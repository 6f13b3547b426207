"""A provisioning client's bearer tokens: issued on the client's page by a directory administrator
after a fresh MFA verification, shown once (not cached), stored as a hash only, refused once expired
or revoked, last use recorded. Everyone else gets a 403 and the endpoint a 401 without a good token."""

import hashlib
from datetime import timedelta
from urllib.parse import urlparse

import time_machine
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from directory.models import ScimClient, ScimToken
from tests.conftest import mark_mfa_verified

from .conftest import Scim, make_client


def test_an_administrator_adds_a_client_issues_a_token_sees_it_once_and_revokes_it(directory, role_admin):
    browser = Client()
    browser.force_login(role_admin)
    # Without a fresh verification: to the step-up page, nothing created.
    response = browser.post("/directory/scim/", {"name": "Entra ID production"})
    assert response.status_code == 302 and urlparse(response["Location"]).path == "/account/verify/"
    assert not ScimClient.objects.exists()

    mark_mfa_verified(browser)
    response = browser.post("/directory/scim/", {"name": "Entra ID production", "description": "Contoso tenant"})
    client = ScimClient.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/directory/scim/{client.pk}/"
    page = browser.get(f"/directory/scim/{client.pk}/").content.decode()
    assert "http://testserver/scim/v2/" in page and "No token yet" in page

    response = browser.post(f"/directory/scim/{client.pk}/", {"expires_in_days": "30"}, follow=True)
    token = ScimToken.objects.get(client=client)
    shown = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = shown.split(f"scim_{token.prefix}_", 1)[1].split("<", 1)[0]
    raw = f"scim_{token.prefix}_{secret}"
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in token.secret_hash
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    again = browser.get(f"/directory/scim/{client.pk}/").content.decode()
    assert secret not in again and token.display_id in again

    assert Scim(raw).get("Users")[0] == 200
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_ip == "127.0.0.1"

    assert browser.post(f"/directory/scim/{client.pk}/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    status, body = Scim(raw).get("Users")
    assert status == 401 and body["status"] == "401"
    actions = set(AuditEvent.objects.filter(action__startswith="scim.").values_list("action", flat=True))
    assert {"scim.client_create", "scim.token_create", "scim.token_revoke"} <= actions


def test_people_without_a_directory_admin_role_are_refused(directory):
    person = directory.user("alice")
    browser = Client()
    browser.force_login(person)
    mark_mfa_verified(browser)
    assert browser.get("/directory/scim/").status_code == 403
    assert browser.post("/directory/scim/", {"name": "Rogue"}).status_code == 403
    client, _ = make_client()
    assert browser.get(f"/directory/scim/{client.pk}/").status_code == 403
    assert browser.post(f"/directory/scim/{client.pk}/", {"expires_in_days": "30"}).status_code == 403
    assert not ScimClient.objects.filter(name="Rogue").exists()
    assert ScimToken.objects.filter(client=client).count() == 1
    assert Client().get("/directory/scim/").status_code == 302  # sign in first


def test_the_endpoint_refuses_missing_wrong_and_expired_tokens(directory):
    client, raw = make_client()
    token = ScimToken.objects.get(client=client)
    for header in ("", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer scim_nope_nope", f"Bearer {raw}x",
                   f"Bearer pim_{token.prefix}_{raw.rsplit('_', 1)[1]}"):
        response = Client().get("/scim/v2/Users", headers={"Authorization": header} if header else {})
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"] == 'Bearer realm="scim"'
        assert response["Content-Type"] == "application/scim+json"
    assert Scim(raw).get("ServiceProviderConfig")[0] == 200
    with time_machine.travel(token.expires_at + timedelta(seconds=1)):
        assert Scim(raw).get("Users")[0] == 401


def test_last_use_is_written_at_most_once_a_minute(directory):
    client, raw = make_client()
    scim = Scim(raw)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        scim.get("Users")
        scim.get("Users")
    token = ScimToken.objects.get(client=client)
    assert token.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        scim.get("Users")
    token.refresh_from_db()
    assert token.last_used_at == start
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        scim.get("Users")
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(minutes=2)


def test_the_client_list_counts_users_groups_and_usable_tokens(directory, role_admin):
    from directory.scim.clients import scim_token_create, scim_token_revoke
    from tests.directory_scim.conftest import SETUP, group_body, user_body

    client, raw = make_client("Counted")
    scim_token_create(actor=SETUP, client=client)
    scim_token_revoke(actor=SETUP, token=scim_token_create(actor=SETUP, client=client)[0])
    scim = Scim(raw)
    for index in range(3):
        scim.post("Users", user_body(f"u{index}@example.com"))
    scim.post("Groups", group_body("One"))
    browser = Client()
    browser.force_login(role_admin)
    page = browser.get("/directory/scim/").content.decode()
    row = page.split("Counted", 1)[1].split("</tr>", 1)[0]
    cells = [piece.split("<", 1)[0] for piece in row.split('class="num">')[1:]]
    assert cells[:3] == ["3", "1", "2"], row

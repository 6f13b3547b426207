"""Single sign-on through a real OpenID provider (django-oauth-toolkit in a second process): the code
flow with PKCE, and the account created just in time on the first sign-in when the setting is on —
with this provider as its directory source — and not when it is off (refused, audited, nothing made)."""

from urllib.parse import parse_qs, urlsplit

import httpx
from allauth.socialaccount.models import SocialAccount

from assignments.models import User
from audit.models import AuditEvent

from .conftest import CLIENT_ID, PASSWORD, page_form


def test_first_sign_in_creates_the_account_through_the_code_flow_with_pkce(identity_provider, settings, directory):
    settings.SOCIALACCOUNT_PROVIDERS = identity_provider.portal_settings(create_users=True)
    identity_provider.person("ada", email="ada@corp.example", email_verified=True, preferred_username="ada",
                             name="Ada Lovelace")

    signed_in = identity_provider.sign_in("ada")

    assert signed_in.response.status_code == 200, signed_in.response.text[:2000]
    assert str(signed_in.response.url).startswith(identity_provider.portal_url)
    query = parse_qs(urlsplit(signed_in.authorize_urls[0]).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["client_id"] == [CLIENT_ID] and query["response_type"] == ["code"]

    user = User.objects.get(username="ada")
    assert (user.email, user.display_name, user.is_active) == ("ada@corp.example", "Ada Lovelace", True)
    assert not user.has_usable_password()
    account = SocialAccount.objects.get(user=user, provider="corp")
    assert (user.principal.external_source, user.principal.external_id) == ("oidc:corp", account.uid)
    created = AuditEvent.objects.get(action="user.create", target_id=str(user.pk))
    assert created.actor_label == "system:oidc-sign-in (Corp SSO)"
    assert AuditEvent.objects.filter(action="auth.sign_in", actor_id=user.pk).exists()

    # The session is the portal's: the next page is served to Ada, not the sign-in page.
    home = signed_in.client.get(f"{identity_provider.portal_url}/")
    assert "/accounts/login/" not in str(home.url)

    # A second sign-in finds the same account (by its link), creating nothing.
    again = identity_provider.sign_in("ada")
    assert again.response.status_code == 200
    assert User.objects.filter(username="ada").count() == 1
    assert AuditEvent.objects.filter(action="user.create", target_id=str(user.pk)).count() == 1


def test_the_provider_refuses_an_authorisation_request_without_a_code_challenge(identity_provider):
    """What makes the flow above PKCE's: this provider gives no code to a request without a challenge."""
    identity_provider.person("ada", email="ada@corp.example", email_verified=True)
    with httpx.Client(timeout=30) as idp:
        login_page = idp.get(f"{identity_provider.issuer.removesuffix('/o')}/login/")
        action, form = page_form(login_page, having="password")
        assert idp.post(action, data={**form["fields"], "username": "ada", "password": PASSWORD}).status_code == 302
        params = {"client_id": CLIENT_ID, "response_type": "code", "scope": "openid", "state": "x",
                  "redirect_uri": f"{identity_provider.portal_url}/accounts/oidc/corp/login/callback/"}
        without = idp.get(f"{identity_provider.issuer}/authorize/", params=params)
        with_challenge = idp.get(f"{identity_provider.issuer}/authorize/", params={
            **params, "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"})

    assert without.status_code == 302 and "error=invalid_request" in without.headers["location"]
    assert "code=" not in without.headers["location"]
    assert with_challenge.status_code == 200 and 'name="allow"' in with_challenge.text  # the consent form


def test_without_just_in_time_creation_an_unknown_person_is_refused_and_audited(identity_provider, directory):
    identity_provider.person("bob", email="bob@corp.example", email_verified=True, preferred_username="bob")

    refused = identity_provider.sign_in("bob")

    assert refused.response.status_code == 403
    assert "accounts are not created at single sign-on" in refused.response.text
    assert not User.objects.filter(username="bob").exists() and not SocialAccount.objects.exists()
    event = AuditEvent.objects.get(action="auth.sso_refused")
    assert event.outcome == "denied" and "bob@corp.example" in event.message

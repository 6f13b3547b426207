"""Single sign-on matches people by email. An identity provider that lets anyone set any address on
an account must not hand that account over: the sign-in links to the existing user only when the
provider says `email_verified: true`; otherwise nobody is signed in, nothing is linked, and the
refusal is audited. Driven through allauth's own OpenID Connect provider and login flow."""

import pytest
from allauth.core.context import request_context
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.helpers import complete_social_login
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import override_settings

from audit.models import AuditEvent

SSO = {"openid_connect": {"APPS": [{"provider_id": "corp", "name": "Contoso SSO", "client_id": "pim",
                                    "secret": "s", "settings": {"server_url": "https://idp.example.com"}}]}}


def _sso_sign_in(rf, claims: dict, *, signed_in=None):
    """The callback's last step: the provider's claims become allauth's SocialLogin, then allauth's
    login flow runs (our adapter's pre_social_login included). With `signed_in`, the "connect" flow
    of a signed-in user (who has just re-entered their password, as allauth asks)."""
    request = rf.get("/accounts/oidc/corp/login/callback/")
    SessionMiddleware(lambda r: None).process_request(request)
    request.session.save()
    request.user = signed_in or AnonymousUser()
    request._messages = FallbackStorage(request)
    with request_context(request):  # what allauth's AccountMiddleware does around every view
        if signed_in is not None:
            from allauth.account.internal.flows.login import record_authentication

            record_authentication(request, signed_in, method="password")
        provider = get_adapter().get_provider(request, "corp")
        sociallogin = provider.sociallogin_from_response(request, {"userinfo": claims, "id_token": claims})
        if signed_in is not None:
            sociallogin.state = {"process": "connect"}
        response = complete_social_login(request, sociallogin)
    return request, response


def _claims(**extra):
    return {"sub": "idp-user-42", "email": "victim@example.com", "preferred_username": "victim", **extra}


@pytest.mark.parametrize("verified", [None, False, "false", "yes", 1])
@override_settings(SOCIALACCOUNT_PROVIDERS=SSO)
def test_an_unverified_or_missing_email_claim_links_nobody(rf, directory, verified):
    victim = directory.user("victim", email="victim@example.com")
    claims = _claims() if verified is None else _claims(email_verified=verified)
    request, response = _sso_sign_in(rf, claims)

    assert "_auth_user_id" not in request.session
    assert not SocialAccount.objects.exists()
    assert response.status_code == 403
    assert b"has not verified" in response.content
    event = AuditEvent.objects.get(action="auth.sso_refused")
    assert event.outcome == "denied" and event.target_id == str(victim.pk)
    assert "victim@example.com" in event.message
    assert not AuditEvent.objects.filter(action="auth.sign_in").exists()


@pytest.mark.parametrize("verified", [True, "true"])
@override_settings(SOCIALACCOUNT_PROVIDERS=SSO)
def test_a_verified_email_links_and_signs_in_the_existing_user(rf, directory, verified):
    user = directory.user("person", email="Person@Example.com")
    request, response = _sso_sign_in(rf, _claims(email="person@example.com", email_verified=verified))

    assert response.status_code == 302
    assert request.session["_auth_user_id"] == str(user.pk)
    assert SocialAccount.objects.get(uid="idp-user-42").user == user
    assert AuditEvent.objects.filter(action="auth.sign_in", actor_id=user.pk).exists()


@override_settings(SOCIALACCOUNT_PROVIDERS=SSO)
def test_an_unknown_email_creates_no_account(rf, directory):
    request, _ = _sso_sign_in(rf, _claims(email="stranger@example.com", email_verified=True))
    assert "_auth_user_id" not in request.session
    assert not SocialAccount.objects.exists()


@override_settings(SOCIALACCOUNT_PROVIDERS=SSO)
def test_a_signed_in_session_cannot_connect_an_identity_with_another_email(rf, directory):
    victim = directory.user("victim", email="victim@example.com")
    _, response = _sso_sign_in(rf, _claims(email="attacker@example.com", email_verified=True), signed_in=victim)
    assert response.status_code == 403
    assert not SocialAccount.objects.exists()
    assert AuditEvent.objects.filter(action="auth.sso_refused", target_id=str(victim.pk)).exists()


@override_settings(SOCIALACCOUNT_PROVIDERS=SSO)
def test_a_signed_in_user_connects_their_own_verified_identity(rf, directory):
    person = directory.user("person", email="person@example.com")
    _sso_sign_in(rf, _claims(email="person@example.com", email_verified=True), signed_in=person)
    assert SocialAccount.objects.get(uid="idp-user-42").user == person

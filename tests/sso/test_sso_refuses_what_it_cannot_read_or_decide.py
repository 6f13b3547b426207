"""Sign-ins the portal cannot decide safely are refused with their reason, audited, and change
nothing: a groups claim that is not a list of strings, Entra ID's "groups overage" pointer instead
of the groups, two accounts with the verified address, a just-in-time account whose username is
taken. A disabled account's sign-in changes none of its groups. (allauth's own flow, without the
network: the end-to-end tests beside this one use a real provider.)"""

import pytest
from allauth.core.context import request_context
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.helpers import complete_social_login
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.middleware import SessionMiddleware

from assignments.models import Principal, User
from assignments.services import user_set_enabled
from audit.models import AuditEvent
from directory.services import directory_actor, directory_group_members, directory_group_upsert

SETUP = directory_actor(job="test-setup", source_label="test")


def _sso(settings, **policy):
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": [{
        "provider_id": "corp", "name": "Corp SSO", "client_id": "pim", "secret": "s",
        "settings": {"server_url": "https://idp.example.com", **policy}}]}}


def _sign_in(rf, claims: dict):
    request = rf.get("/accounts/oidc/corp/login/callback/")
    SessionMiddleware(lambda r: None).process_request(request)
    request.session.save()
    request.user = AnonymousUser()
    request._messages = FallbackStorage(request)
    with request_context(request):
        provider = get_adapter().get_provider(request, "corp")
        sociallogin = provider.sociallogin_from_response(request, {"id_token": claims})
        response = complete_social_login(request, sociallogin)
    return request, response


def _claims(**extra):
    return {"sub": "idp-42", "email": "ada@corp.example", "email_verified": True, "preferred_username": "ada",
            **extra}


def _refused(request, response, text):
    assert response.status_code == 403 and text in response.content.decode()
    assert "_auth_user_id" not in request.session
    assert not SocialAccount.objects.exists()
    assert AuditEvent.objects.filter(action="auth.sso_refused", outcome="denied").exists()


@pytest.mark.parametrize("groups", [{"id": "x"}, [1, 2], ["ok", None], 7], ids=["object", "numbers", "null", "number"])
def test_a_groups_claim_that_is_not_a_list_of_strings_is_refused(rf, settings, directory, groups):
    _sso(settings, create_users=True, groups_claim="groups")
    request, response = _sign_in(rf, _claims(groups=groups))
    _refused(request, response, "claim is not a list of group names or ids")
    assert not User.objects.filter(username="ada").exists()


def test_the_entra_id_groups_overage_pointer_is_refused(rf, settings, directory):
    _sso(settings, create_users=True, groups_claim="groups")
    claims = _claims(_claim_names={"groups": "src1"},
                     _claim_sources={"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}})
    request, response = _sign_in(rf, claims)
    _refused(request, response, "too many groups")
    assert not User.objects.filter(username="ada").exists()


def test_two_accounts_with_the_verified_address_are_not_guessed_between(rf, settings, directory):
    _sso(settings)
    directory.user("ada1", email="ada@corp.example")
    directory.user("ada2", email="ADA@corp.example")
    request, response = _sign_in(rf, _claims())
    _refused(request, response, "several portal accounts have the email address")


def test_a_just_in_time_account_never_takes_over_a_username(rf, settings, directory):
    _sso(settings, create_users=True)
    existing = directory.user("ada", email="someone-else@corp.example")
    request, response = _sign_in(rf, _claims())
    _refused(request, response, "a portal account named ada already exists")
    existing.refresh_from_db()
    assert existing.principal.external_source == "" and User.objects.filter(username__iexact="ada").count() == 1


def test_a_disabled_accounts_sign_in_changes_none_of_its_groups(rf, settings, directory):
    _sso(settings, create_users=True, groups_claim="groups")
    operators, _ = directory_group_upsert(source="oidc:corp", external_id="ops", display_name="Ops", actor=SETUP)
    _sign_in(rf, _claims(groups=["ops"]))
    ada = User.objects.get(username="ada")
    assert directory_group_members(group=operators) == {ada.principal.pk}
    user_set_enabled(user=ada, enabled=False, actor=SETUP)  # ends her membership too

    request, response = _sign_in(rf, _claims(groups=["ops"]))

    assert "_auth_user_id" not in request.session
    assert directory_group_members(group=operators) == set()
    assert not User.objects.get(pk=ada.pk).is_active


def test_a_wrongly_typed_setting_refuses_instead_of_defaulting(rf, settings, directory):
    _sso(settings, create_users="yes")
    request, response = _sign_in(rf, _claims())
    assert response.status_code == 403 and "create_users must be true or false" in response.content.decode()
    assert not Principal.objects.filter(user__username="ada").exists()


def test_accounts_are_created_only_in_the_listed_domains(rf, settings, directory):
    _sso(settings, create_users=True, create_users_domains=["corp.example"])
    request, response = _sign_in(rf, _claims(sub="gmail-1", email="ada@gmail.example", preferred_username="ada.g"))
    _refused(request, response, "only for addresses at corp.example, not ada@gmail.example")
    assert not User.objects.filter(username="ada.g").exists()

    request, response = _sign_in(rf, _claims(email="Ada@Corp.Example"))
    assert response.status_code == 302 and User.objects.filter(username="ada").exists()

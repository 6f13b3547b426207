"""Through a real provider: an identity whose email address the provider has not verified
(`email_verified` false or missing) never signs in to the portal account with that address, nor gets
an account made for it; the refusal says why, changes nothing, and is audited."""

import pytest
from allauth.socialaccount.models import SocialAccount

from assignments.models import User
from audit.models import AuditEvent


@pytest.mark.parametrize("claims", [{"email_verified": False}, {}], ids=["false", "missing"])
def test_an_unverified_email_does_not_link_the_existing_account(identity_provider, settings, directory, claims):
    settings.SOCIALACCOUNT_PROVIDERS = identity_provider.portal_settings(create_users=True, groups_claim="groups")
    victim = directory.user("victim", email="victim@corp.example")
    identity_provider.person("mallory", email="victim@corp.example", preferred_username="mallory",
                             groups=["pim-operators"], **claims)

    refused = identity_provider.sign_in("mallory")

    assert refused.response.status_code == 403
    assert "has not verified the email address victim@corp.example" in refused.response.text
    assert not SocialAccount.objects.exists()
    assert not User.objects.filter(username="mallory").exists()
    home = refused.client.get(f"{identity_provider.portal_url}/")
    assert "/accounts/login/" in str(home.url)  # nobody is signed in
    event = AuditEvent.objects.get(action="auth.sso_refused")
    assert event.outcome == "denied" and event.target_id == str(victim.pk)
    assert "Single sign-on from corp for victim@corp.example refused" in event.message


def test_a_verified_email_links_the_existing_account(identity_provider, directory):
    person = directory.user("person", email="Person@Corp.example")
    identity_provider.person("person", email="person@corp.example", email_verified=True)

    signed_in = identity_provider.sign_in("person")

    assert signed_in.response.status_code == 200
    assert SocialAccount.objects.get(provider="corp").user == person
    assert AuditEvent.objects.filter(action="auth.sign_in", actor_id=person.pk).exists()


def test_no_account_is_created_for_an_unverified_email(identity_provider, settings, directory):
    settings.SOCIALACCOUNT_PROVIDERS = identity_provider.portal_settings(create_users=True)
    identity_provider.person("newcomer", email="newcomer@corp.example", email_verified="false")

    refused = identity_provider.sign_in("newcomer")

    assert refused.response.status_code == 403
    assert "creates accounts only for verified addresses" in refused.response.text
    assert not User.objects.filter(email="newcomer@corp.example").exists()
    assert AuditEvent.objects.filter(action="auth.sso_refused", target_label="newcomer@corp.example").exists()

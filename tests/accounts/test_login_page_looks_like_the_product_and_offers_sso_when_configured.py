from django.test import override_settings
from django.urls import reverse

SSO = {"openid_connect": {"APPS": [{"provider_id": "corp", "name": "Contoso SSO", "client_id": "pim",
                                    "secret": "s", "settings": {"server_url": "https://idp.example.com"}}]}}


def test_login_page_uses_the_portal_layout_without_sso(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert "portal.css" in page and "Username or email" in page
    assert 'data-testid="sso-button"' not in page
    assert "sign up" not in page.lower()


@override_settings(SOCIALACCOUNT_PROVIDERS=SSO)
def test_login_page_shows_the_sso_button_when_oidc_is_configured(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert 'data-testid="sso-button"' in page and "Sign in with Contoso SSO" in page
    assert "/accounts/oidc/corp/login/" in page

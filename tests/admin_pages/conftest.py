import pytest
from django.test import Client


@pytest.fixture
def login(verified):
    """A Django test client signed in as `user` (sign-in itself is another page's behaviour), its session
    freshly MFA-verified as administrative changes ask for; `verified_mfa=False` for one that is not."""

    def _login(user, *, verified_mfa=True):
        client = Client()
        client.force_login(user)
        return verified(client) if verified_mfa else client

    return _login


@pytest.fixture
def fresh_login():
    """A test client signed in as `user` whose session passed an MFA step-up `minutes_ago` minutes ago."""
    from datetime import timedelta

    from django.utils import timezone

    from core.mfa import SESSION_KEY

    def _fresh_login(user, *, minutes_ago=0):
        client = Client()
        client.force_login(user)
        session = client.session
        session[SESSION_KEY] = (timezone.now() - timedelta(minutes=minutes_ago)).isoformat()
        session.save()
        return client

    return _fresh_login


@pytest.fixture
def pra_client(role_admin, login):
    return login(role_admin)


def rows_of(response) -> str:
    """The text of the page's table bodies (not its filter menus), to assert on what is listed."""
    content = response.content.decode()
    parts = content.split("<tbody>")[1:]
    return "".join(part.split("</tbody>")[0] for part in parts)

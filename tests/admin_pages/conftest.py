import pytest
from django.test import Client


@pytest.fixture
def login():
    """A Django test client signed in as `user` (sign-in itself is another page's behaviour)."""

    def _login(user):
        client = Client()
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def pra_client(role_admin, login):
    return login(role_admin)


def rows_of(response) -> str:
    """The text of the page's table bodies (not its filter menus), to assert on what is listed."""
    content = response.content.decode()
    parts = content.split("<tbody>")[1:]
    return "".join(part.split("</tbody>")[0] for part in parts)

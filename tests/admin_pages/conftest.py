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

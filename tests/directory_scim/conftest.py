"""A SCIM provisioning client with a token, and a caller of `/scim/v2/` that sends it."""

import json

import pytest
from django.test import Client

from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def make_client(name="Entra ID production"):
    """A provisioning client and its bearer token (issued by the system: the arrangement)."""
    from directory.scim.clients import scim_client_create, scim_token_create

    client = scim_client_create(actor=SETUP, name=name)
    _, secret = scim_token_create(actor=SETUP, client=client)
    return client, secret


class Scim:
    """Requests to /scim/v2/ with the client's token, answering (status, parsed JSON body or None)."""

    def __init__(self, token: str):
        self.http = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, body=None, *, raw: bytes | None = None, headers=None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = self.http.generic(method, f"/scim/v2/{path.lstrip('/')}", data=data or "",
                                     content_type="application/scim+json", headers={**self.headers, **(headers or {})})
        content = response.content
        return response.status_code, (json.loads(content) if content else None)

    def get(self, path, **params):
        from urllib.parse import urlencode

        query = f"?{urlencode(params)}" if params else ""
        return self.request("GET", f"{path}{query}")

    def post(self, path, body):
        return self.request("POST", path, body)

    def put(self, path, body):
        return self.request("PUT", path, body)

    def patch(self, path, body):
        return self.request("PATCH", path, body)

    def delete(self, path):
        return self.request("DELETE", path)


@pytest.fixture
def scim_client(directory):
    return make_client()


@pytest.fixture
def scim(scim_client):
    return Scim(scim_client[1])


def user_body(user_name, **extra):
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name, "active": True,
            "displayName": user_name.split("@")[0].title(),
            "emails": [{"value": user_name if "@" in user_name else f"{user_name}@example.com", "type": "work",
                        "primary": True}]}
    body.update(extra)
    return body


def group_body(name, members=(), **extra):
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name,
            "members": [{"value": member} for member in members]}
    body.update(extra)
    return body

"""The API documentation and the OpenAPI schema are for signed-in callers (a portal session or a token)
by default; PIM_API_DOCS_PUBLIC=1 opens them to everyone."""

from django.test import override_settings


def test_anonymous_callers_are_sent_to_sign_in_or_refused(client, db):
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/accounts/login/?next=/api/v1/docs/")
    for path in ("/api/v1/schema/?format=json", "/api/v1/schema/"):  # JSON error body, also where YAML is the default
        schema = client.get(path)
        assert schema.status_code == 401
        assert schema.json()["error"]["code"] == "not_authenticated"


def test_a_token_or_a_session_may_read_them(client, world, requester_p):
    assert requester_p.client().get("/api/v1/schema/?format=json").status_code == 200
    client.force_login(requester_p.user)
    assert client.get("/api/v1/docs/").status_code == 200


@override_settings(PIM_API_DOCS_PUBLIC=True)
def test_public_docs_need_no_sign_in(client, db):
    assert client.get("/api/v1/docs/").status_code == 200
    assert client.get("/api/v1/schema/?format=json").status_code == 200

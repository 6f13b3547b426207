"""The webhook and SCIM target pages cost the same number of queries with 1 or 20 rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import mark_mfa_verified

pytestmark = pytest.mark.django_db


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_webhook_page(client, directory, global_admin, make_webhook):
    target, _ = make_webhook("assignment.created")
    client.force_login(global_admin)
    mark_mfa_verified(client)
    url = reverse("connectors:target", args=[target.pk])
    directory.grant(directory.user(), "security-reader")
    one = _queries(client, url)
    for _ in range(19):
        directory.grant(directory.user(), "security-reader")
    assert _queries(client, url) == one


def test_scim_target_page(client, directory, scim_app, global_admin, relay):
    """The SCIM connector's target page (its effects, drift, mappings) does not grow with its effects."""
    client.force_login(global_admin)
    mark_mfa_verified(client)
    url = reverse("connectors:target", args=[scim_app.target.pk])
    directory.add_member(scim_app.group, directory.user(), kind="active")
    one = _queries(client, url)
    for _ in range(19):
        directory.add_member(scim_app.group, directory.user(), kind="active")
    assert _queries(client, url) == one

"""Integration changes (registering a webhook endpoint, rotating its secret, deleting it) are privileged
administrative changes: without a fresh MFA verification the pages send the administrator through the
step-up (the registration form keeps what was typed) instead of refusing with a 403."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.urls import reverse

from provisioning.models import WebhookEndpoint
from tests.conftest import mark_mfa_verified

pytestmark = pytest.mark.django_db


def _sent_to_step_up(response) -> str:
    assert response.status_code == 302, response
    location = urlparse(response["Location"])
    assert location.path == "/account/verify/"
    return parse_qs(location.query)["next"][0]


def test_webhook_registration_rotation_and_deletion_need_a_fresh_verification(global_admin, receiver):
    client = Client()
    client.force_login(global_admin)
    create_url = reverse("provisioning:webhook_create")
    data = {"url": receiver.url, "description": "SIEM", "event_types": ["assignment.created"], "enabled": "on"}

    assert _sent_to_step_up(client.post(create_url, data)) == create_url
    assert not WebhookEndpoint.objects.exists()
    back = client.get(create_url)
    assert back.context["form"]["description"].value() == "SIEM"

    mark_mfa_verified(client)
    client.post(create_url, data)
    endpoint = WebhookEndpoint.objects.get()

    session = client.session
    session.pop("pim_mfa_verified_at")
    session.save()
    detail_url = reverse("provisioning:webhook_detail", args=[endpoint.pk])
    rotated_at = endpoint.secret_rotated_at
    rotate = client.post(reverse("provisioning:webhook_rotate_secret", args=[endpoint.pk]))
    assert _sent_to_step_up(rotate) == detail_url
    delete = client.post(reverse("provisioning:webhook_delete", args=[endpoint.pk]))
    assert _sent_to_step_up(delete) == detail_url
    endpoint.refresh_from_db()  # still there, secret not rotated
    assert endpoint.secret_rotated_at == rotated_at

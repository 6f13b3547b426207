"""Webhook changes (adding a webhook target, rotating its signing secret, deleting it) are privileged
administrative changes, as for every connector target: without a fresh MFA verification the pages send
the administrator through the step-up (the form keeps what was typed) instead of refusing with a 403."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.urls import reverse

from connectors.models import Target
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
    create_url = reverse("connectors:target_create", args=["webhook"])
    data = {"name": "SIEM", "config_url": receiver.url, "config_event_types": ["assignment.created"],
            "enabled": "on"}

    assert _sent_to_step_up(client.post(create_url, data)) == create_url
    assert not Target.objects.exists()
    back = client.get(create_url)
    assert back.context["form"]["name"].value() == "SIEM"

    mark_mfa_verified(client)
    client.post(create_url, data)
    target = Target.objects.get()

    session = client.session
    session.pop("pim_mfa_verified_at")
    session.save()
    detail_url = reverse("connectors:target", args=[target.pk])
    sealed = target.secret_sealed
    rotate = client.post(reverse("connectors:target_rotate_secret", args=[target.pk]))
    assert _sent_to_step_up(rotate) == detail_url
    change = client.post(detail_url, {**data, "name": "SIEM (prod)"})
    assert _sent_to_step_up(change) == detail_url
    delete = client.post(reverse("connectors:target_delete", args=[target.pk]))
    assert _sent_to_step_up(delete) == detail_url
    target.refresh_from_db()  # still there, unchanged, secret not rotated
    assert (target.name, target.secret_sealed) == ("SIEM", sealed)

"""Role administrators register endpoints on a page, see the secret once, and see each delivery's
status, attempts and last error. Bad input is a form error; others are refused; changes are audited."""

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from provisioning.models import WebhookEndpoint
from provisioning.webhooks import webhook_signature_verify
from tests.conftest import mark_mfa_verified

pytestmark = pytest.mark.django_db


def _register(client, url, **extra):
    data = {"url": url, "description": "SIEM", "event_types": ["assignment.created"], "enabled": "on", **extra}
    return client.post(reverse("provisioning:webhook_create"), data)


def test_register_see_secret_once_and_delivery_status(client, global_admin, directory, receiver, relay):
    client.force_login(global_admin)
    mark_mfa_verified(client)
    index = client.get(reverse("provisioning:index"))
    assert index.status_code == 200 and b"Register an endpoint" in index.content
    home = client.get("/")
    assert reverse("provisioning:index").encode() in home.content  # the nav entry

    response = _register(client, receiver.url)
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("provisioning:webhook_detail",
                                                                           args=[endpoint.pk])
    first = client.get(response["Location"])
    secret = first.context["secret"]
    assert secret.startswith("whsec_") and secret.encode() in first.content
    assert first["Cache-Control"] == "no-store"
    again = client.get(response["Location"])
    assert again.context["secret"] is None and secret.encode() not in again.content
    assert secret not in endpoint.secret_sealed  # encrypted at rest
    assert AuditEvent.objects.filter(action="webhook.create", actor_id=global_admin.pk).exists()

    receiver.statuses = [500, 200]
    directory.grant(directory.user("bob"), "security-reader")
    relay()
    page = client.get(response["Location"]).content.decode()
    assert "assignment.created" in page and "Pending" in page and "HTTP 500" in page

    hit = receiver.received[0]
    h = hit["headers"]
    assert webhook_signature_verify(secret, h["x-pim-timestamp"], hit["body"], h["x-pim-signature"])


def test_bad_input_is_a_form_error(client, global_admin):
    client.force_login(global_admin)
    mark_mfa_verified(client)

    for data, message in [
        ({"url": "not a url"}, "Enter a valid URL."),
        ({"url": "ftp://example.com/x"}, "Use an http:// or https:// URL."),
        ({"url": "https://example.com/hook", "event_types": []}, "Choose at least one event type."),
        ({"url": "https://example.com/hook", "event_types": ["no.such.event"]}, "Select a valid choice."),
    ]:
        response = _register(client, **data) if "event_types" in data else _register(client, data["url"])
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert not WebhookEndpoint.objects.exists()


def test_loopback_targets_are_refused_outside_tests(client, global_admin, settings):
    settings.PIM_PROVISIONING_ALLOW_LOOPBACK = False
    client.force_login(global_admin)
    mark_mfa_verified(client)

    for url in ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://169.254.169.254/latest/meta-data"]:
        response = _register(client, url)
        assert response.status_code == 400 and "does not call" in response.content.decode(), url


def test_edit_rotate_and_delete_are_audited(client, global_admin, receiver):
    client.force_login(global_admin)
    mark_mfa_verified(client)
    _register(client, receiver.url)
    endpoint = WebhookEndpoint.objects.get()
    detail = reverse("provisioning:webhook_detail", args=[endpoint.pk])
    client.get(detail)  # consume the one-time secret

    response = client.post(detail, {"url": receiver.url, "description": "SIEM (prod)",
                                    "event_types": ["assignment.created", "assignment.expired"]})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.enabled is False and endpoint.event_types == ["assignment.created", "assignment.expired"]

    client.post(reverse("provisioning:webhook_rotate_secret", args=[endpoint.pk]))
    assert client.get(detail).context["secret"].startswith("whsec_")

    client.post(reverse("provisioning:webhook_delete", args=[endpoint.pk]))
    assert not WebhookEndpoint.objects.exists()
    actions = list(AuditEvent.objects.filter(action__startswith="webhook.").order_by("seq")
                   .values_list("action", flat=True))
    assert actions == ["webhook.create", "webhook.update", "webhook.rotate_secret", "webhook.delete"]


def test_others_are_refused(client, directory, global_admin, receiver):
    from provisioning.services import webhook_endpoint_create

    endpoint, _ = webhook_endpoint_create(actor=global_admin, url=receiver.url, event_types=["assignment.created"],
                                          mfa_verified_at=timezone.now())
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    client.force_login(reader)
    mark_mfa_verified(client)

    assert client.get(reverse("provisioning:index")).status_code == 403
    assert client.get(reverse("provisioning:webhook_create")).status_code == 403
    assert client.get(reverse("provisioning:webhook_detail", args=[endpoint.pk])).status_code == 403
    assert client.post(reverse("provisioning:webhook_rotate_secret", args=[endpoint.pk])).status_code == 403
    assert client.post(reverse("provisioning:webhook_delete", args=[endpoint.pk])).status_code == 403
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()

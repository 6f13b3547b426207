"""Role administrators add a webhook where connector targets are added, see its generated signing
secret once, and see each delivery's status, attempts, last result and a retry button on the target's
page. Bad input is a form error; others are refused; changes are audited; the old Integrations
addresses lead there."""

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from connectors.kinds.webhook import webhook_signature_verify
from connectors.models import Target
from tests.conftest import mark_mfa_verified

from .conftest import deliveries

pytestmark = pytest.mark.django_db

CREATE = reverse("connectors:target_create", args=["webhook"])


def _register(client, url, **extra):
    data = {"name": "SIEM", "config_url": url, "config_event_types": ["assignment.created"], "enabled": "on",
            **extra}
    return client.post(CREATE, data)


def test_register_see_secret_once_and_delivery_status(client, global_admin, directory, receiver, relay):
    client.force_login(global_admin)
    mark_mfa_verified(client)
    index = client.get(reverse("connectors:index"))
    assert index.status_code == 200 and CREATE.encode() in index.content
    assert client.get(CREATE).status_code == 200

    response = _register(client, receiver.url)
    target = Target.objects.get()
    detail = reverse("connectors:target", args=[target.pk])
    assert response.status_code == 302 and response["Location"] == detail
    assert (target.kind, target.config) == ("webhook", {"url": receiver.url, "event_types": ["assignment.created"]})
    first = client.get(detail)
    secret = first.context["secret"]
    assert secret.startswith("whsec_") and secret.encode() in first.content
    assert first["Cache-Control"] == "no-store"
    again = client.get(detail)
    assert again.context["secret"] is None and secret.encode() not in again.content
    assert secret not in target.secret_sealed  # encrypted at rest
    assert AuditEvent.objects.filter(action="connector_target.create", actor_id=global_admin.pk).exists()

    receiver.statuses = [500, 200]
    directory.grant(directory.user("bob"), "security-reader")
    relay()
    page = client.get(detail).content.decode()
    assert "assignment.created" in page and "Queued" in page and "HTTP 500" in page
    assert "Add a mapping" not in page and "Reconcile now" not in page

    hit = receiver.received[0]
    h = hit["headers"]
    assert webhook_signature_verify(secret, h["x-pim-timestamp"], hit["body"], h["x-pim-signature"])


def test_a_failed_delivery_is_sent_again_from_the_page(client, global_admin, directory, make_webhook, receiver,
                                                       relay):
    target, _ = make_webhook("assignment.created")
    receiver.statuses = [410, 200]
    directory.grant(directory.user("bob"), "security-reader")
    relay()
    [delivery] = deliveries()
    assert (delivery.status, delivery.last_status_code) == ("failed", 410)

    client.force_login(global_admin)
    mark_mfa_verified(client)
    detail = reverse("connectors:target", args=[target.pk])
    assert "Send again" in client.get(detail).content.decode()
    response = client.post(reverse("connectors:effect_retry", args=[target.pk, delivery.pk]))
    assert response.status_code == 302
    relay()

    [delivery] = deliveries()
    assert (delivery.status, delivery.last_status_code) == ("done", 200)
    assert [h["headers"]["x-pim-delivery"] for h in receiver.received] == [str(delivery.delivery_id)] * 2
    assert AuditEvent.objects.filter(action="connector_effect.retry").count() == 1
    again = client.post(reverse("connectors:effect_retry", args=[target.pk, delivery.pk]), follow=True)
    assert "Only a failed effect can be run again." in again.content.decode()


def test_bad_input_is_a_form_error(client, global_admin):
    client.force_login(global_admin)
    mark_mfa_verified(client)

    for data, message in [
        ({"config_url": "not a url"}, "Use an http:// or https:// URL."),
        ({"config_url": "ftp://example.com/x"}, "Use an http:// or https:// URL."),
        ({"config_url": "https://example.com/hook", "config_event_types": []}, "Events: choose at least one."),
        ({"config_url": "https://example.com/hook", "config_event_types": ["no.such.event"]},
         "Select a valid choice."),
    ]:
        response = _register(client, data.pop("config_url"), **data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert not Target.objects.exists()


def test_loopback_targets_are_refused_outside_tests(client, global_admin, settings):
    settings.PIM_PROVISIONING_ALLOW_LOOPBACK = False
    client.force_login(global_admin)
    mark_mfa_verified(client)

    for url in ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://169.254.169.254/latest/meta-data"]:
        response = _register(client, url)
        assert response.status_code == 400 and "does not call" in response.content.decode(), url
    assert not Target.objects.exists()


def test_a_webhook_has_no_mappings_and_is_not_reconciled(global_admin, directory, make_webhook):
    from connectors.reconcile import connectors_reconcile, target_reconcile
    from connectors.services import mapping_create
    from core.errors import DomainError

    target, _ = make_webhook("assignment.created")
    with pytest.raises(DomainError, match="no grants, mappings or holders"):
        mapping_create(actor=global_admin, target=target, role=directory.role("security-reader"),
                       scope=directory.root, grant="x", mfa_verified_at=timezone.now())
    result = target_reconcile(target=target)
    assert (result.mappings, result.errors) == (0, [])
    assert target.name not in [r.target for r in connectors_reconcile(evaluate=False)]
    target.refresh_from_db()
    assert target.status == "unknown" and target.reconciled_at is None


def test_edit_rotate_and_delete_are_audited(client, global_admin, receiver):
    client.force_login(global_admin)
    mark_mfa_verified(client)
    _register(client, receiver.url)
    target = Target.objects.get()
    detail = reverse("connectors:target", args=[target.pk])
    client.get(detail)  # consume the one-time secret
    sealed = target.secret_sealed

    response = client.post(detail, {"name": "SIEM (prod)", "config_url": receiver.url,
                                    "config_event_types": ["assignment.created", "assignment.expired"]})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.enabled is False and target.config["event_types"] == ["assignment.created", "assignment.expired"]
    assert target.secret_sealed == sealed  # an empty secret field keeps it

    client.post(reverse("connectors:target_rotate_secret", args=[target.pk]))
    assert client.get(detail).context["secret"].startswith("whsec_")

    client.post(reverse("connectors:target_delete", args=[target.pk]))
    assert not Target.objects.exists()
    actions = list(AuditEvent.objects.filter(action__startswith="connector_target.").order_by("seq")
                   .values_list("action", flat=True))
    assert actions == ["connector_target.create", "connector_target.update", "connector_target.rotate_secret",
                       "connector_target.delete"]


def test_others_are_refused(client, directory, make_webhook):
    target, _ = make_webhook("assignment.created")
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    client.force_login(reader)
    mark_mfa_verified(client)

    assert client.get(reverse("connectors:index")).status_code == 403
    assert client.get(CREATE).status_code == 403
    assert client.get(reverse("connectors:target", args=[target.pk])).status_code == 403
    assert client.post(reverse("connectors:target_rotate_secret", args=[target.pk])).status_code == 403
    assert client.post(reverse("connectors:target_delete", args=[target.pk])).status_code == 403
    assert Target.objects.filter(pk=target.pk).exists()


def test_the_old_integrations_addresses_lead_to_the_connectors(client, global_admin):
    client.force_login(global_admin)
    assert client.get("/provisioning/")["Location"] == reverse("connectors:index")
    assert client.get("/provisioning/webhooks/new/")["Location"] == CREATE
    assert client.get("/provisioning/webhooks/3/")["Location"] == reverse("connectors:index")

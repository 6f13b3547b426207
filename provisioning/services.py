"""Configuration changes of webhook endpoints (each audited in its transaction), and the domain-event
subscriber that queues deliveries in the transaction of the change that caused them. (SCIM provisioning is
a connector kind: `connectors.kinds.scim`.)"""

import logging
import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from assignments import rules
from assignments import selectors as assignment_selectors
from assignments.models import Assignment, User
from assignments.services import audited_refusal
from audit.services import audit_event_record
from core import domain_events
from core.actors import as_actor
from core.domain_events import EVENTS
from core.errors import conflict, forbidden, invalid
from notifications.outbox import outbox_enqueue

from . import webhooks
from .crypto import seal
from .models import WebhookDelivery, WebhookEndpoint
from .urlpolicy import outbound_url_problem

logger = logging.getLogger(__name__)

WEBHOOK_ADMIN_ROLES = assignment_selectors.DIRECTORY_ADMIN_ROLES


def _check_admin_mfa(actor, mfa_verified_at: datetime | None, *, what: str) -> None:
    """The administrative MFA rule for the actor of this call, with a step-up time passed as a keyword."""
    rules.check_admin_mfa(actor=as_actor(actor).with_mfa_verified_at(mfa_verified_at), what=what)


def _stamp(now) -> int:
    """Makes a retry a new outbox effect (the failed row keeps its own dedupe key)."""
    return int(now.timestamp() * 1_000_000)


def generate_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


# --- permission checks (the services check them again: views are not the only callers) ----------------


def _check_webhook_admin(actor: User | None) -> None:
    if not assignment_selectors.user_holds_any(user=actor, role_slugs=WEBHOOK_ADMIN_ROLES):
        raise forbidden("Only Global Administrators and Privileged Role Administrators manage webhooks.")


def _check_url(url: str) -> str:
    url = (url or "").strip()
    problem = outbound_url_problem(url)
    if problem:
        raise invalid(problem, field="url")
    return url


def _check_event_types(event_types) -> list[str]:
    chosen = sorted(set(event_types or []))
    unknown = [name for name in chosen if name not in EVENTS]
    if unknown:
        raise invalid(f"Unknown event types: {', '.join(unknown)}.", field="event_types")
    if not chosen:
        raise invalid("Choose at least one event type.", field="event_types")
    return chosen


# --- webhooks --------------------------------------------------------------------------------------------


def _endpoint_snapshot(endpoint: WebhookEndpoint) -> dict:
    return {"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types,
            "enabled": endpoint.enabled}


@audited_refusal("webhook.create")
def webhook_endpoint_create(*, actor: User, url: str, description: str = "", event_types: list[str],
                            enabled: bool = True, mfa_verified_at: datetime | None = None
                            ) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint. Returns it and its signing secret, which is shown once."""
    _check_webhook_admin(actor)
    url = _check_url(url)
    event_types = _check_event_types(event_types)
    _check_admin_mfa(actor, mfa_verified_at, what="register a webhook endpoint")
    secret = generate_webhook_secret()
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            url=url, description=(description or "").strip(), event_types=event_types, enabled=enabled,
            secret_sealed=seal(secret), secret_rotated_at=now, created_by=actor, created_at=now, updated_at=now)
        audit_event_record(action="webhook.create", actor=actor, target=endpoint, after=_endpoint_snapshot(endpoint))
    return endpoint, secret


@audited_refusal("webhook.update")
def webhook_endpoint_update(*, actor: User, endpoint: WebhookEndpoint, url: str, description: str = "",
                            event_types: list[str], enabled: bool, mfa_verified_at: datetime | None = None
                            ) -> WebhookEndpoint:
    _check_webhook_admin(actor)
    url = _check_url(url)
    event_types = _check_event_types(event_types)
    _check_admin_mfa(actor, mfa_verified_at, what="change a webhook endpoint")
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = _endpoint_snapshot(locked)
        locked.url, locked.description, locked.event_types, locked.enabled = (
            url, (description or "").strip(), event_types, enabled)
        after = _endpoint_snapshot(locked)
        if after == before:
            return locked
        locked.updated_at = timezone.now()
        locked.save(update_fields=["url", "description", "event_types", "enabled", "updated_at"])
        changed = [key for key in after if after[key] != before[key]]
        audit_event_record(action="webhook.update", actor=actor, target=locked,
                           before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return locked


@audited_refusal("webhook.rotate_secret")
def webhook_endpoint_rotate_secret(*, actor: User, endpoint: WebhookEndpoint,
                                   mfa_verified_at: datetime | None = None) -> str:
    """A new signing secret, used from the next delivery attempt on. Returned once."""
    _check_webhook_admin(actor)
    _check_admin_mfa(actor, mfa_verified_at, what="rotate a webhook signing secret")
    secret = generate_webhook_secret()
    now = timezone.now()
    with transaction.atomic():
        updated = WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret_sealed=seal(secret),
                                                                        secret_rotated_at=now, updated_at=now)
        if not updated:
            raise conflict("That endpoint no longer exists.")
        audit_event_record(action="webhook.rotate_secret", actor=actor, target=endpoint,
                           message="Signing secret rotated.")
    return secret


@audited_refusal("webhook.delete")
def webhook_endpoint_delete(*, actor: User, endpoint: WebhookEndpoint, mfa_verified_at: datetime | None = None) -> None:
    _check_webhook_admin(actor)
    # Deleting an endpoint silences whoever watches the portal through it.
    _check_admin_mfa(actor, mfa_verified_at, what="delete a webhook endpoint")
    with transaction.atomic():
        before = _endpoint_snapshot(endpoint)
        deleted, _ = WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()
        if deleted:
            audit_event_record(action="webhook.delete", actor=actor, target_type="webhookendpoint",
                               target_id=str(endpoint.pk), target_label=str(endpoint), before=before)


@audited_refusal("webhook_delivery.retry")
def webhook_delivery_retry(*, actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a failed delivery again (same delivery id and body, signed anew)."""
    _check_webhook_admin(actor)
    now = timezone.now()
    with transaction.atomic():
        if not WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.FAILED).update(
                status=WebhookDelivery.Status.PENDING, last_error="", attempts=0):
            raise conflict("Only a failed delivery can be sent again.")
        message = outbox_enqueue(
            channel=webhooks.CHANNEL,
            dedupe_key=f"webhook:{delivery.endpoint_id}:{delivery.event_key}:retry:{_stamp(now)}",
            payload={"delivery": str(delivery.pk)}, correlation_id=delivery.correlation_id)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(outbox_message=message)
        audit_event_record(action="webhook_delivery.retry", actor=actor, target_type="webhookdelivery",
                           target_id=str(delivery.pk), target_label=f"{delivery.event} → {delivery.endpoint}",
                           correlation_id=delivery.correlation_id)
    delivery.refresh_from_db()
    return delivery


# --- the domain-event subscriber ------------------------------------------------------------------------


def provisioning_on_domain_event(*, name: str, assignment: Assignment | None = None, request=None, actor=None,
                                 before=None, data: dict | None = None, key: str | None = None,
                                 **_: object) -> None:
    """Runs inside every service transaction that emits an event. One query when no endpoint is
    configured; never raises (a failure is logged and rolled back to a savepoint, the caller's change goes on)."""
    memo = domain_events.batch_memo()
    if memo is not None and "provisioning" in memo and not memo["provisioning"]:
        return  # inside a sweep's batch, after the first event: no query (this runs per row)
    try:
        endpoints = list(WebhookEndpoint.objects.filter(enabled=True))
        if memo is not None:
            memo["provisioning"] = bool(endpoints)
    except Exception:  # noqa: BLE001 — never break the caller's change over a side effect
        logger.exception("Provisioning: could not check for webhook endpoints on %s", name)
        return
    if not endpoints:
        return
    try:
        with transaction.atomic():
            webhooks.webhooks_enqueue(name=name, endpoints=endpoints, assignment=assignment, request=request,
                                      actor=actor, before=before, data=data, key=key)
    except Exception:  # noqa: BLE001
        logger.exception("Provisioning: could not queue deliveries for %s", name)


def provisioning_on_domain_events_many(*, name: str, batch) -> None:
    """The set-based form (`domain_events.emit_many`: the expiry sweep, a directory load): one query for
    the whole batch when no webhook endpoint takes `name` (the usual case); otherwise the batch's
    deliveries are written at once (`webhooks.webhooks_enqueue_many`), in one savepoint for the batch,
    not one per row. Never raises: a failure is logged and the batch's deliveries rolled back."""
    try:
        endpoints = [endpoint for endpoint in WebhookEndpoint.objects.filter(enabled=True)
                     if name in (endpoint.event_types or [])]
    except Exception:  # noqa: BLE001 — never break the caller's change over a side effect
        logger.exception("Provisioning: could not check for webhook endpoints on %s", name)
        return
    if not endpoints:
        return
    try:
        with transaction.atomic():
            webhooks.webhooks_enqueue_many(name=name, endpoints=endpoints, assignments=batch.models())
    except Exception:  # noqa: BLE001
        logger.exception("Provisioning: could not queue deliveries for %s (%d rows)", name, len(batch.rows))

"""Configuration changes of webhooks and SCIM applications (each audited in its transaction), and the
domain-event subscriber that queues deliveries in the transaction of the change that caused them."""

import logging
import secrets
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from assignments import rules
from assignments import selectors as assignment_selectors
from assignments.models import Assignment, Principal, RoleDefinition, Scope, User
from assignments.services import audited_refusal
from audit.services import audit_event_record
from core import domain_events
from core.actors import as_actor
from core.domain_events import EVENTS
from core.errors import conflict, forbidden, invalid
from notifications.outbox import outbox_enqueue

from . import scim, webhooks
from .crypto import seal
from .models import ScimApplication, ScimOperation, WebhookDelivery, WebhookEndpoint
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


def _check_group_admin(actor: User | None, group: Principal) -> Scope:
    if group.kind != Principal.Kind.GROUP:
        raise invalid("SCIM applications are configured for groups.", field="group")
    scope = Scope.objects.filter(group=group).first()
    if scope is None:
        raise invalid("That group has no scope.", field="group")
    role = RoleDefinition.objects.get(slug=RoleDefinition.GROUP_OWNER)
    if not assignment_selectors.user_can_manage(user=actor, role=role, scope=scope):
        raise forbidden(f"Only the owners of {group}, Privileged Role Administrators and Global Administrators "
                        f"configure its applications.")
    return scope


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


# --- SCIM applications ----------------------------------------------------------------------------------


def _application_snapshot(application: ScimApplication) -> dict:
    return {"group": str(application.group.object_id), "name": application.name, "base_url": application.base_url,
            "enabled": application.enabled, "has_token": application.has_token}


@audited_refusal("scim_app.create")
def scim_application_create(*, actor: User, group: Principal, name: str, base_url: str, token: str = "",
                            enabled: bool = True, mfa_verified_at: datetime | None = None) -> ScimApplication:
    scope = _check_group_admin(actor, group)
    base_url = _check_url(base_url).rstrip("/")
    name = (name or "").strip()
    if not name:
        raise invalid("Name the application.", field="name")
    _check_admin_mfa(actor, mfa_verified_at, what="add a SCIM application")
    now = timezone.now()
    try:
        with transaction.atomic():
            application = ScimApplication.objects.create(
                group=group, name=name, base_url=base_url, token_sealed=seal((token or "").strip()), enabled=enabled,
                created_by=actor, created_at=now, updated_at=now)
            audit_event_record(action="scim_app.create", actor=actor, target=application, principal=group,
                               scope=scope, after=_application_snapshot(application))
    except IntegrityError:
        raise conflict(f"{group} already has an application at {base_url}.")
    return application


@audited_refusal("scim_app.update")
def scim_application_update(*, actor: User, application: ScimApplication, name: str, base_url: str,
                            enabled: bool, token: str | None = None,
                            mfa_verified_at: datetime | None = None) -> ScimApplication:
    """Change an application; `token` None keeps the stored token, "" removes it, a value replaces it."""
    scope = _check_group_admin(actor, application.group)
    base_url = _check_url(base_url).rstrip("/")
    name = (name or "").strip()
    if not name:
        raise invalid("Name the application.", field="name")
    _check_admin_mfa(actor, mfa_verified_at, what="change a SCIM application")
    try:
        with transaction.atomic():
            locked = ScimApplication.objects.select_for_update().select_related("group").get(pk=application.pk)
            before = _application_snapshot(locked)
            locked.name, locked.base_url, locked.enabled = name, base_url, enabled
            token_changed = token is not None
            if token_changed:
                locked.token_sealed = seal(token.strip())
            after = _application_snapshot(locked)
            if after == before and not token_changed:
                return locked
            locked.updated_at = timezone.now()
            locked.save(update_fields=["name", "base_url", "enabled", "token_sealed", "updated_at"])
            changed = [key for key in after if after[key] != before[key]]
            audit_event_record(action="scim_app.update", actor=actor, target=locked, principal=locked.group,
                               scope=scope, before={k: before[k] for k in changed},
                               after={k: after[k] for k in changed},
                               message="Bearer token replaced." if token_changed else "")
    except IntegrityError:
        raise conflict(f"{application.group} already has an application at {base_url}.")
    return locked


@audited_refusal("scim_app.delete")
def scim_application_delete(*, actor: User, application: ScimApplication,
                            mfa_verified_at: datetime | None = None) -> None:
    scope = _check_group_admin(actor, application.group)
    _check_admin_mfa(actor, mfa_verified_at, what="delete a SCIM application")
    with transaction.atomic():
        before = _application_snapshot(application)
        deleted, _ = ScimApplication.objects.filter(pk=application.pk).delete()
        if deleted:
            audit_event_record(action="scim_app.delete", actor=actor, target_type="scimapplication",
                               target_id=str(application.pk), target_label=str(application),
                               principal=application.group, scope=scope, before=before)


@audited_refusal("scim_operation.retry")
def scim_operation_retry(*, actor: User, operation: ScimOperation) -> ScimOperation:
    """Run a failed operation again (after fixing the token or the URL, say). It converges to PIM's
    current state like any run: an add for a membership that has ended since is skipped."""
    application = operation.application
    scope = _check_group_admin(actor, application.group)
    now = timezone.now()
    with transaction.atomic():
        if not ScimOperation.objects.filter(pk=operation.pk, status=ScimOperation.Status.FAILED).update(
                status=ScimOperation.Status.PENDING, last_error="", detail="retry requested", attempts=0):
            raise conflict("Only a failed operation can be run again.")
        message = outbox_enqueue(
            channel=scim.CHANNEL,
            dedupe_key=f"scim:{application.pk}:{operation.assignment_id}:{operation.action}:retry:{_stamp(now)}",
            payload={"operation": operation.pk}, correlation_id=operation.request_id)
        ScimOperation.objects.filter(pk=operation.pk).update(outbox_message=message)
        audit_event_record(action="scim_operation.retry", actor=actor, target_type="scimoperation",
                           target_id=str(operation.pk), target_label=str(operation), principal=application.group,
                           scope=scope, correlation_id=operation.request_id)
    operation.refresh_from_db()
    return operation


# --- the domain-event subscriber ------------------------------------------------------------------------


def provisioning_on_domain_event(*, name: str, assignment: Assignment | None = None, request=None, actor=None,
                                 before=None, data: dict | None = None, key: str | None = None,
                                 **_: object) -> None:
    """Runs inside every service transaction that emits an event. One query when nothing is configured;
    never raises (a failure is logged and rolled back to a savepoint, the caller's change goes on)."""
    scope_id = getattr(assignment, "scope_id", None)
    memo = domain_events.batch_memo()
    if memo is not None and "provisioning" in memo:
        # Inside a sweep's batch, after the first event: no query, no queryset (this runs per row).
        any_hooks, scopes_with_apps = memo["provisioning"]
        if not any_hooks and scope_id not in scopes_with_apps:
            return
    try:
        endpoints_q = WebhookEndpoint.objects.filter(enabled=True)
        if memo is not None:
            # Inside a sweep's batch: look the configuration up once for all its events.
            if "provisioning" not in memo:
                memo["provisioning"] = (endpoints_q.exists(), set(
                    Scope.objects.filter(group__scim_applications__enabled=True).values_list("pk", flat=True)))
            any_hooks, scopes_with_apps = memo["provisioning"]
            flags = (any_hooks, scope_id in scopes_with_apps)
        elif scope_id is not None:
            flags = (Scope.objects.filter(pk=scope_id)
                     .annotate(hooks=Exists(endpoints_q),
                               apps=Exists(ScimApplication.objects.filter(enabled=True, group_id=OuterRef("group_id"))))
                     .values_list("hooks", "apps").first()) or (False, False)
        else:
            flags = (endpoints_q.exists(), False)
    except Exception:  # noqa: BLE001 — never break the caller's change over a side effect
        logger.exception("Provisioning: could not check for webhooks/SCIM applications on %s", name)
        return
    has_hooks, has_apps = flags
    if not has_hooks and not has_apps:
        return
    try:
        with transaction.atomic():
            if has_hooks:
                webhooks.webhooks_enqueue(name=name, endpoints=list(endpoints_q), assignment=assignment,
                                          request=request, actor=actor, before=before, data=data, key=key)
            if has_apps and assignment is not None:
                applications = list(ScimApplication.objects.filter(enabled=True, group__group_scope__pk=scope_id)
                                    .select_related("group"))
                scim.scim_enqueue(name=name, assignment=assignment, request=request, applications=applications)
    except Exception:  # noqa: BLE001
        logger.exception("Provisioning: could not queue deliveries for %s", name)


def provisioning_on_domain_events_many(*, name: str, batch) -> None:
    """The set-based form (`domain_events.emit_many`, the expiry sweep): two queries for the whole
    batch when no webhook endpoint takes `name` and no SCIM application serves the batch's scopes
    (the usual case); otherwise each row that concerns them goes through `provisioning_on_domain_event`.
    Never raises."""
    try:
        hooked = any(name in (endpoint.event_types or [])
                     for endpoint in WebhookEndpoint.objects.filter(enabled=True).only("event_types"))
        scopes_with_apps = set(Scope.objects.filter(pk__in=set(batch.scopes), group__scim_applications__enabled=True)
                               .values_list("pk", flat=True))
    except Exception:  # noqa: BLE001 — never break the caller's change over a side effect
        logger.exception("Provisioning: could not check for webhooks/SCIM applications on %s", name)
        return
    if not hooked and not scopes_with_apps:
        return
    with domain_events.batch():
        for assignment in batch.models():
            if hooked or assignment.scope_id in scopes_with_apps:
                provisioning_on_domain_event(name=name, assignment=assignment)

"""SCIM provisioning clients and their bearer tokens: create, issue a token (shown once, stored as a
sha256 hash, expiring), revoke, and the authentication lookup of the endpoint.

Clients are managed by directory administrators (Global Administrator, Privileged Role Administrator):
a client's token can create, change and disable users, so issuing one is a privileged administrative
change and needs a fresh MFA verification, like an API token. Revoking needs the role, not a step-up:
taking a credential away must never wait.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from assignments import rules
from assignments import selectors as assignment_selectors
from audit.models import AuditEvent
from audit.services import audit_event_record, audit_refusal_record
from core.actors import Actor, as_actor
from core.errors import DomainError, conflict, invalid

from ..models import ScimClient, ScimToken

TOKEN_PREFIX = "scim"
LAST_USED_GRANULARITY = timedelta(minutes=1)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_admin(*, actor, action: str, what: str, target=None, mfa_verified_at: datetime | None = None) -> Actor:
    acting = as_actor(actor)
    try:
        rules.check_directory_admin(actor=acting, what=what)
    except DomainError as error:
        audit_refusal_record(action=action, actor=actor, outcome=AuditEvent.Outcome.DENIED, target=target,
                             message=error.message)
        raise
    return acting


def _client_snapshot(client: ScimClient) -> dict:
    return {"id": client.pk, "name": client.name, "description": client.description}


def _token_snapshot(token: ScimToken) -> dict:
    return {"id": token.pk, "client": token.client_id, "prefix": token.prefix, "expires_at": token.expires_at,
            "revoked_at": token.revoked_at}


def scim_client_create(*, actor, name: str, description: str = "",
                       mfa_verified_at: datetime | None = None) -> ScimClient:
    """A new provisioning client (no token yet: issue one with `scim_token_create`)."""
    acting = _check_admin(actor=actor, action="scim.client_create", what="add SCIM provisioning clients")
    rules.check_admin_mfa(actor=acting.with_mfa_verified_at(mfa_verified_at), what="add a SCIM provisioning client")
    name = (name or "").replace("\x00", "").strip()
    description = (description or "").replace("\x00", "").strip()
    if not name:
        raise invalid("Name the client after the directory that provisions (e.g. “Entra ID production”).",
                      field="name")
    if len(name) > 100:
        raise invalid("The name is limited to 100 characters.", field="name")
    if len(description) > 300:
        raise invalid("The description is limited to 300 characters.", field="description")
    with transaction.atomic():
        if ScimClient.objects.filter(name__iexact=name).exists():
            raise conflict(f"A SCIM client named {name} already exists.")
        client = ScimClient.objects.create(name=name, description=description, created_at=timezone.now(),
                                           created_by=actor if acting.user is not None else None)
        audit_event_record(action="scim.client_create", actor=actor, target=client, after=_client_snapshot(client))
    return client


def _check_expiry(*, expires_at: datetime | None, now: datetime) -> datetime:
    longest = timedelta(days=settings.PIM_API_TOKEN_MAX_DAYS)
    if expires_at is None:
        return now + timedelta(days=settings.PIM_API_TOKEN_DEFAULT_DAYS)
    if timezone.is_naive(expires_at):
        raise invalid("Times must carry a time zone.", field="expires_at")
    if expires_at <= now + settings.PIM_MIN_ASSIGNMENT_DURATION:
        raise invalid("A token must expire in the future (at least 5 minutes from now).", field="expires_at")
    if expires_at > now + longest:
        raise invalid(f"A token may live at most {settings.PIM_API_TOKEN_MAX_DAYS} days.", field="expires_at")
    return expires_at


def scim_token_create(*, actor, client: ScimClient, expires_at: datetime | None = None,
                      mfa_verified_at: datetime | None = None) -> tuple[ScimToken, str]:
    """Issue a bearer token for the client. Returns (token, the secret to show once)."""
    acting = _check_admin(actor=actor, action="scim.token_create", what="issue SCIM tokens", target=client)
    rules.check_admin_mfa(actor=acting.with_mfa_verified_at(mfa_verified_at), what="issue a SCIM token")
    now = timezone.now()
    expires_at = _check_expiry(expires_at=expires_at, now=now)
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ScimToken.objects.create(client=client, prefix=prefix, secret_hash=token_hash(secret),
                                         created_at=now, expires_at=expires_at,
                                         created_by=actor if acting.user is not None else None)
        audit_event_record(action="scim.token_create", actor=actor, target=token, after=_token_snapshot(token),
                           message=f"Token for the SCIM client {client.name}.")
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def scim_token_revoke(*, actor, token: ScimToken) -> ScimToken:
    """Revoke a token (a guarded update: twice is a no-op)."""
    acting = _check_admin(actor=actor, action="scim.token_revoke", what="revoke SCIM tokens", target=token)
    now = timezone.now()
    with transaction.atomic():
        changed = ScimToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=actor if acting.user is not None else None)
        if changed:
            token.refresh_from_db()
            audit_event_record(action="scim.token_revoke", actor=actor, target=token, after=_token_snapshot(token),
                               message=f"Token of the SCIM client {token.client.name} revoked.")
    token.refresh_from_db()
    return token


def scim_token_authenticate(*, raw: str) -> ScimToken | None:
    """The usable token for `scim_<prefix>_<secret>`, with its client, in one query; None when unknown,
    wrong, expired or revoked."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2] or len(parts[1]) > 16:
        return None
    prefix, secret = parts[1], parts[2]
    token = ScimToken.objects.select_related("client").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.secret_hash, token_hash(secret)):
        return None
    if not token.is_usable_at(timezone.now()):
        return None
    return token


def scim_token_mark_used(*, token: ScimToken, at: datetime, ip: str | None) -> None:
    """Record the last use, at most once a minute per token (concurrent callers write it once)."""
    if token.last_used_at is not None and at - token.last_used_at < LAST_USED_GRANULARITY:
        return
    ScimToken.objects.filter(pk=token.pk, last_used_at=token.last_used_at).update(last_used_at=at, last_used_ip=ip)
    token.last_used_at, token.last_used_ip = at, ip


def scim_clients_visible_to(*, user) -> QuerySet[ScimClient]:
    if not assignment_selectors.user_holds_any(user=user, role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES):
        return ScimClient.objects.none()
    return ScimClient.objects.order_by("name")


def user_manages_scim_clients(*, user) -> bool:
    return assignment_selectors.user_holds_any(user=user, role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES)

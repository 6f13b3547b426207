"""State changes of API credentials, and the audit record of a write made with one.

Token secrets are generated here, returned once to the caller and stored only as a sha256 hash.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from assignments import rules
from assignments import selectors as assignment_selectors
from assignments.models import Principal, User
from assignments.services import audited_refusal
from audit.models import AuditEvent
from audit.services import audit_event_record, audit_refusal_record
from core.actors import as_actor
from core.errors import DomainError, conflict, forbidden, invalid, not_found

from .models import ApiToken, DeviceAuthorization

TOKEN_PREFIX = "pim"


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> tuple[str, str, str]:
    """(prefix, secret, the full token). 12 hex chars of public id, 256 bits of secret."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return prefix, secret, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def admin_token_lifetime() -> timedelta:
    return timedelta(minutes=settings.PIM_API_ADMIN_TOKEN_MINUTES)


def _check_expiry(*, expires_at: datetime | None, now: datetime, purpose: str = ApiToken.Purpose.GENERAL) -> datetime:
    administrative = purpose == ApiToken.Purpose.ADMINISTRATION
    longest = admin_token_lifetime() if administrative else timedelta(days=settings.PIM_API_TOKEN_MAX_DAYS)
    if expires_at is None:
        return now + (longest if administrative else timedelta(days=settings.PIM_API_TOKEN_DEFAULT_DAYS))
    if timezone.is_naive(expires_at):
        raise invalid("Times must carry a time zone.", field="expires_at")
    if expires_at <= now + settings.PIM_MIN_ASSIGNMENT_DURATION:
        raise invalid("A token must expire in the future (at least 5 minutes from now).", field="expires_at")
    if expires_at > now + longest:
        if administrative:
            raise invalid(f"An administrative token may live at most {settings.PIM_API_ADMIN_TOKEN_MINUTES} "
                          f"minutes.", field="expires_at")
        raise invalid(f"A token may live at most {settings.PIM_API_TOKEN_MAX_DAYS} days.", field="expires_at")
    return expires_at


def _snapshot(token: ApiToken) -> dict:
    return {"id": token.pk, "prefix": token.prefix, "name": token.name, "kind": token.kind,
            "purpose": token.purpose, "mfa_verified_at": token.mfa_verified_at,
            "principal": token.principal_id, "expires_at": token.expires_at, "revoked_at": token.revoked_at}


def _insert(*, kind: str, principal: Principal, user: User | None, actor: User, name: str,
            expires_at: datetime | None, purpose: str = ApiToken.Purpose.GENERAL,
            mfa_verified_at: datetime | None = None) -> tuple[ApiToken, str]:
    name = (name or "").strip()
    if not name:
        raise invalid("Give the token a name, so you recognise it later.", field="name")
    if len(name) > 100:
        raise invalid("The name is limited to 100 characters.", field="name")
    now = timezone.now()
    expires_at = _check_expiry(expires_at=expires_at, now=now, purpose=purpose)
    prefix, secret, raw = _new_secret()
    with transaction.atomic():
        token = ApiToken.objects.create(prefix=prefix, secret_hash=token_hash(secret), name=name, kind=kind,
                                        principal=principal, user=user, created_by=actor, created_at=now,
                                        expires_at=expires_at, purpose=purpose,
                                        mfa_verified_at=mfa_verified_at if purpose != ApiToken.Purpose.GENERAL
                                        else None)
        audit_event_record(action="api.token_create", actor=actor, target=token, principal=principal,
                           after=_snapshot(token))
    return token, raw


@audited_refusal("api.token_create", describe=lambda kwargs: {})
def token_create_personal(*, actor: User, name: str, expires_at: datetime | None = None,
                          purpose: str = ApiToken.Purpose.GENERAL,
                          mfa_verified_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A person's own token: it acts as that person, with exactly their roles. Returns (token, secret).

    A token outlives the session it was made in, so creating one needs a fresh MFA verification. An
    administrative token (`purpose` administration) carries that verification for its short lifetime
    (`PIM_API_ADMIN_TOKEN_MINUTES`), and only it may make privileged administrative changes."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not hasattr(actor, "principal"):
        raise forbidden("Sign in to create a personal API token.")
    if purpose not in ApiToken.Purpose.values:
        raise invalid(f"Choose the purpose: {', '.join(ApiToken.Purpose.values)}.", field="purpose")
    administrative = purpose == ApiToken.Purpose.ADMINISTRATION
    rules.check_admin_mfa(actor=as_actor(actor).with_mfa_verified_at(mfa_verified_at),
                          what="create an administrative API token" if administrative else "create an API token")
    return _insert(kind=ApiToken.Kind.PERSONAL, principal=actor.principal, user=actor, actor=actor, name=name,
                   expires_at=expires_at, purpose=purpose, mfa_verified_at=mfa_verified_at)


def token_create_for_service_principal(*, actor: User, service_principal: Principal, name: str,
                                       expires_at: datetime | None = None,
                                       mfa_verified_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A credential for an application identity; only directory administrators (Global Administrator,
    Privileged Role Administrator) issue them, after a fresh MFA verification. The credential acts only
    within the service principal's own assignments, and never makes privileged administrative changes
    (a service principal has no MFA)."""
    if not assignment_selectors.user_holds_any(user=actor, role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES):
        _refused(actor=actor, action="api.token_create",
                 message="Only Global Administrators and Privileged Role Administrators create credentials for "
                         "service principals.")
    if not service_principal.is_service_principal:
        raise invalid("Credentials of this kind are for service principals only.", field="service_principal")
    if not service_principal.enabled:
        raise invalid(f"{service_principal} is disabled.", field="service_principal")
    rules.check_admin_mfa(actor=as_actor(actor).with_mfa_verified_at(mfa_verified_at),
                          what="create a credential for a service principal")
    return _insert(kind=ApiToken.Kind.SERVICE_PRINCIPAL, principal=service_principal, user=None, actor=actor,
                   name=name, expires_at=expires_at)


def _refused(*, actor, action: str, message: str, token: ApiToken | None = None):
    audit_refusal_record(action=action, actor=actor, outcome=AuditEvent.Outcome.DENIED, target=token,
                         message=message)
    raise forbidden(message)


def token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke a token: its owner (personal tokens) or a directory administrator (any token). Revoking
    twice is a no-op."""
    own = token.kind == ApiToken.Kind.PERSONAL and actor is not None and token.user_id == actor.pk
    if not own and not assignment_selectors.user_holds_any(
            user=actor, role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES):
        if token.kind == ApiToken.Kind.PERSONAL:
            raise not_found("No such token.")  # do not reveal other people's tokens
        _refused(actor=actor, action="api.token_revoke", token=token,
                 message="Only Global Administrators and Privileged Role Administrators revoke credentials of "
                         "service principals.")
    now = timezone.now()
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now,
                                                                                      revoked_by=actor)
        if changed:
            token.revoked_at, token.revoked_by = now, actor
            audit_event_record(action="api.token_revoke", actor=actor, target=token, principal=token.principal,
                               after=_snapshot(token))
    token.refresh_from_db()
    return token


LAST_USED_GRANULARITY = timedelta(minutes=1)


def token_mark_used(*, token: ApiToken, at: datetime, ip: str | None) -> None:
    """Record the last use, at most once a minute per token (a guarded update; concurrent callers
    write it once)."""
    if token.last_used_at is not None and at - token.last_used_at < LAST_USED_GRANULARITY:
        return
    ApiToken.objects.filter(pk=token.pk, last_used_at=token.last_used_at).update(last_used_at=at, last_used_ip=ip)
    token.last_used_at, token.last_used_ip = at, ip


def api_write_record(*, token: ApiToken, actor, method: str, path: str, outcome: str = AuditEvent.Outcome.SUCCESS,
                     message: str = "", target=None) -> AuditEvent:
    """The audit event of a write made with a token: which token, who it acts as, what was called.
    A success is recorded in the transaction of the write; a refusal in its own transaction
    (`audit_refusal_record`), whatever becomes of the caller's."""
    record = audit_event_record if outcome == AuditEvent.Outcome.SUCCESS else audit_refusal_record
    return record(
        action="api.write",
        actor=actor if isinstance(actor, User) else None,
        outcome=outcome,
        target=target,
        principal=token.principal,
        message=(f"{method} {path} with token #{token.pk} ({token.display_id}, {token.name})"
                 + (f": {message}" if message else "")),
        after={"token_id": token.pk, "token_prefix": token.prefix, "method": method, "path": path},
    )


def write_refused_message(error: Exception) -> str:
    return error.message if isinstance(error, DomainError) else str(error)


# --- Device-code sign-in of the command line (`pim login`) -----------------------------------------

# RFC 8628 §6.1: no vowels (no words) and no look-alike characters; 20^8 codes, tried 5 at most a poll.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"


class DeviceFlowError(Exception):
    """A token request of the device flow that cannot be answered with a token yet or ever, with the
    error code of RFC 8628 §3.5 (`authorization_pending`, `slow_down`, `access_denied`, `expired_token`,
    `invalid_grant`)."""

    def __init__(self, code: str, description: str):
        super().__init__(description)
        self.code = code
        self.description = description


def device_user_code_normalise(text: str) -> str:
    """What a person typed ("bcdf ghjk", "BCDF-GHJK") as the stored form, "BCDF-GHJK"; "" when it cannot be one."""
    letters = "".join(c for c in (text or "").upper() if c.isalnum())
    if len(letters) != 8 or any(c not in USER_CODE_ALPHABET for c in letters):
        return ""
    return f"{letters[:4]}-{letters[4:]}"


def _device_code_hash(device_code: str) -> str:
    return hashlib.sha256(device_code.encode()).hexdigest()


def device_authorization_start(*, client_name: str, client_ip: str | None) -> tuple[DeviceAuthorization, str]:
    """A new pending sign-in: (row, the secret device code the client polls with). Nothing is granted until a
    signed-in person approves it after a step-up, so it needs no audit event of its own."""
    name = " ".join((client_name or "").split())[:100] or "pim command line"
    if any(not c.isprintable() for c in name):
        raise invalid("The client name must be printable text.", field="client_name")
    now = timezone.now()
    device_code = secrets.token_urlsafe(32)
    for _ in range(5):
        letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
        try:
            with transaction.atomic():
                row = DeviceAuthorization.objects.create(
                    device_code_hash=_device_code_hash(device_code), user_code=f"{letters[:4]}-{letters[4:]}",
                    client_name=name, client_ip=client_ip, created_at=now,
                    expires_at=now + timedelta(minutes=settings.PIM_DEVICE_CODE_MINUTES),
                    interval_seconds=settings.PIM_DEVICE_POLL_SECONDS)
            return row, device_code
        except IntegrityError:  # a pending code already has these letters: draw again
            continue
    raise conflict("Could not issue a sign-in code; try again.")


def device_authorization_decide(*, actor: User, authorization: DeviceAuthorization, approve: bool,
                                mfa_verified_at: datetime | None) -> DeviceAuthorization:
    """The person's answer to a pending sign-in. Approving hands the client a token that acts as them, so it
    needs a fresh MFA verification (as creating a token does), which the token then carries for
    self-service steps that ask for MFA. A code that was answered already or expired is a conflict."""
    if approve:
        rules.check_admin_mfa(actor=as_actor(actor).with_mfa_verified_at(mfa_verified_at),
                              what="sign in a command-line client")
    now = timezone.now()
    status = DeviceAuthorization.Status.APPROVED if approve else DeviceAuthorization.Status.DENIED
    with transaction.atomic():
        changed = DeviceAuthorization.objects.filter(
            pk=authorization.pk, status=DeviceAuthorization.Status.PENDING, expires_at__gt=now).update(
            status=status, user=actor, decided_at=now, mfa_verified_at=mfa_verified_at if approve else None)
        if not changed:
            raise conflict("This code was answered already or has expired: start the sign-in again from the "
                           "command line.")
        authorization.refresh_from_db()
        audit_event_record(action="api.device_approve" if approve else "api.device_deny", actor=actor,
                           target=authorization, principal=actor.principal,
                           after={"client_name": authorization.client_name, "client_ip": authorization.client_ip,
                                  "user_code": authorization.user_code, "mfa_verified_at": mfa_verified_at})
    return authorization


def device_token_exchange(*, device_code: str) -> tuple[ApiToken, str]:
    """The client's poll: the token once the person approved (exactly once), else a DeviceFlowError."""
    now = timezone.now()
    row = DeviceAuthorization.objects.filter(device_code_hash=_device_code_hash(device_code or "")).first()
    if row is None:
        raise DeviceFlowError("invalid_grant", "Unknown device code.")
    polled_too_soon = row.last_polled_at is not None and now - row.last_polled_at < timedelta(
        seconds=row.interval_seconds)
    DeviceAuthorization.objects.filter(pk=row.pk).update(last_polled_at=now)
    if row.status == DeviceAuthorization.Status.ISSUED:
        raise DeviceFlowError("invalid_grant", "This sign-in has given its token already.")
    if row.status == DeviceAuthorization.Status.DENIED:
        raise DeviceFlowError("access_denied", "The sign-in was denied in the browser.")
    if row.is_expired_at(now):
        raise DeviceFlowError("expired_token", "The code expired before it was approved: sign in again.")
    if polled_too_soon:
        raise DeviceFlowError("slow_down", f"Poll at most every {row.interval_seconds} seconds.")
    if row.status == DeviceAuthorization.Status.PENDING:
        raise DeviceFlowError("authorization_pending", "Waiting for the approval in the browser.")
    user = row.user
    if user is None or not user.is_active or not user.principal.enabled:
        raise DeviceFlowError("access_denied", "The account that approved the sign-in is disabled.")
    with transaction.atomic():
        if not DeviceAuthorization.objects.filter(pk=row.pk, status=DeviceAuthorization.Status.APPROVED).update(
                status=DeviceAuthorization.Status.ISSUED):
            raise DeviceFlowError("invalid_grant", "This sign-in has given its token already.")
        token, raw = _insert(kind=ApiToken.Kind.PERSONAL, principal=user.principal, user=user, actor=user,
                             name=f"pim CLI: {row.client_name}"[:100],
                             expires_at=now + timedelta(hours=settings.PIM_CLI_TOKEN_HOURS),
                             purpose=ApiToken.Purpose.CLI, mfa_verified_at=row.mfa_verified_at)
        DeviceAuthorization.objects.filter(pk=row.pk).update(token=token)
    return token, raw

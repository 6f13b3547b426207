"""Reads of API credentials: the authentication lookup and the token lists of the portal pages."""

import hmac

from django.db.models import QuerySet
from django.utils import timezone

from assignments import selectors as assignment_selectors
from assignments.models import Principal

from .models import ApiToken, DeviceAuthorization
from .services import TOKEN_PREFIX, token_hash


def token_parse(raw: str) -> tuple[str, str] | None:
    """`pim_<prefix>_<secret>` → (prefix, secret), or None when it is not shaped like one."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2] or len(parts[1]) > 16:
        return None
    return parts[1], parts[2]


def token_authenticate(*, raw: str) -> ApiToken | None:
    """The usable token for this secret, with its principal and user, in one query; None otherwise
    (unknown, wrong secret, revoked, expired, or its holder disabled)."""
    parsed = token_parse(raw)
    if parsed is None:
        return None
    prefix, secret = parsed
    token = (ApiToken.objects.select_related("principal", "user", "user__principal")
             .filter(prefix=prefix).first())
    if token is None or not hmac.compare_digest(token.secret_hash, token_hash(secret)):
        return None
    if not token.is_usable_at(timezone.now()) or not token.principal.enabled:
        return None
    if token.user is not None and not token.user.is_active:
        return None
    return token


def tokens_of_user(*, user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, kind=ApiToken.Kind.PERSONAL).order_by("-created_at")


def service_principal_tokens_visible_to(*, user) -> QuerySet[ApiToken]:
    """Credentials of service principals: directory administrators see them all; others none."""
    if not assignment_selectors.user_holds_any(user=user, role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES):
        return ApiToken.objects.none()
    return (ApiToken.objects.filter(kind=ApiToken.Kind.SERVICE_PRINCIPAL)
            .select_related("principal", "created_by", "revoked_by").order_by("-created_at"))


def service_principals_enabled() -> QuerySet[Principal]:
    return Principal.objects.filter(kind=Principal.Kind.SERVICE_PRINCIPAL, enabled=True).order_by("display_name")


def device_authorization_pending(*, user_code: str):
    """The sign-in still waiting for the person that shows `user_code` (normalised), or None."""
    return DeviceAuthorization.objects.filter(user_code=user_code, status=DeviceAuthorization.Status.PENDING,
                                              expires_at__gt=timezone.now()).first()

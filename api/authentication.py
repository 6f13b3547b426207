"""Bearer-token authentication for people's tokens and service principals' credentials.

`Authorization: Bearer pim_<prefix>_<secret>`. A personal token authenticates as its user; a service
principal credential as a `ServicePrincipalActor`, which carries the principal so that the same
access-check rules (`selectors.user_can_manage`, `user_holds_any`, `assignments_visible_to`) decide
what it may do: it acts only within its own assignments.
"""

from datetime import datetime

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from audit.middleware import client_ip_of

from . import selectors, services
from .models import ApiToken


class ServicePrincipalActor:
    """The authenticated identity of a service principal credential. Quacks like a user where the
    portal's rules read one (`is_authenticated`, `principal`), and is never a `User`: services that
    record a person (`created_by`, `requested_by`, decisions) do not accept it."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, principal, token: ApiToken):
        self.principal = principal
        self.token = token

    def __str__(self) -> str:
        return f"{self.principal.display_name} (service principal)"

    def get_username(self) -> str:
        return f"sp:{self.principal.object_id}"

    def has_perm(self, perm, obj=None) -> bool:
        return False


def is_service_principal_actor(user) -> bool:
    return isinstance(user, ServicePrincipalActor)


def token_admin_mfa_verified_at(token: ApiToken, *, at: datetime) -> datetime | None:
    """The MFA verification a token brings to a privileged administrative change. An administrative
    token was created right after a fresh step-up and lives only `PIM_API_ADMIN_TOKEN_MINUTES`: it
    stands for that verification throughout its lifetime, so while it is usable it answers `at` (the
    time of the request). A general token or a service principal credential brings none."""
    if token.kind == ApiToken.Kind.PERSONAL and token.is_administrative and token.is_usable_at(at):
        return at
    return None


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send one token: 'Authorization: Bearer pim_…'.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.")
        token = selectors.token_authenticate(raw=raw)
        if token is None:
            raise exceptions.AuthenticationFailed("The token is not valid, has expired or was revoked.")
        services.token_mark_used(token=token, at=timezone.now(), ip=client_ip_of(request._request))
        if token.kind == ApiToken.Kind.PERSONAL:
            return token.user, token
        return ServicePrincipalActor(token.principal, token), token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "pim_<prefix>_<secret>"}

"""Who is acting on a service: a person, a service principal, or the system running a named job.

Services take an `Actor` (or a `User`, read as a person: see `as_actor`) and decide on it. The rules
(who may manage what, MFA and justification on active assignment, self-approval, …) apply to people
and to service principals, each through their own assignments; only `Actor.system(job)` is trusted,
and only background jobs and bootstrap/demo code build one.

`mfa_verified_at` is the one place a service reads how fresh an actor's multifactor verification
is: the time of a person's last step-up in the session the call came from, or, for a call made with
an administrative API token, the time of the call while that short-lived token is usable (it was
created right after a fresh step-up and stands for it: `api.authentication.token_admin_mfa_verified_at`).
A general token carries none. A service principal never carries one, so it never satisfies an MFA
requirement and makes no privileged administrative change (`rules.check_admin_mfa`).
"""

import enum
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from core.errors import forbidden

if TYPE_CHECKING:
    from api.models import ApiToken
    from assignments.models import Principal, User

_JOB_NAME = re.compile(r"^[a-z][a-z0-9-]{0,60}$")


class ActorKind(enum.StrEnum):
    PERSON = "person"
    SERVICE_PRINCIPAL = "service_principal"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True, eq=False)
class Actor:
    """Immutable; build it with `Actor.person`, `Actor.service_principal` or `Actor.system`."""

    kind: ActorKind
    user: "User | None" = None
    _principal: "Principal | None" = None  # a service principal (a person's is read from the user)
    token: "ApiToken | None" = None
    job: str = ""
    mfa_verified_at: datetime | None = None
    on_behalf_of: str = ""  # a system job acting for a configured source, e.g. a SCIM client's name

    # --- constructors ------------------------------------------------------------------------------

    @classmethod
    def person(cls, user: "User", *, mfa_verified_at: datetime | None = None,
               token: "ApiToken | None" = None) -> "Actor":
        """A signed-in person; `mfa_verified_at` only when their session carries a fresh step-up
        verification, or the call uses an administrative token within its lifetime (a general personal
        token never carries one)."""
        if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "_meta"):
            raise forbidden("Sign in first.")
        if mfa_verified_at is not None and timezone.is_naive(mfa_verified_at):
            raise ValueError("mfa_verified_at must carry a time zone.")
        return cls(kind=ActorKind.PERSON, user=user, token=token, mfa_verified_at=mfa_verified_at)

    @classmethod
    def service_principal(cls, principal: "Principal", *, token: "ApiToken | None" = None) -> "Actor":
        """An application identity, authenticated by one of its credentials (`token`)."""
        if principal is None or not principal.is_service_principal:
            raise ValueError("Actor.service_principal needs a service principal.")
        return cls(kind=ActorKind.SERVICE_PRINCIPAL, _principal=principal, token=token)

    @classmethod
    def system(cls, job: str, *, on_behalf_of: str = "") -> "Actor":
        """The portal itself, running `job` (e.g. "expiry-sweep", "bootstrap"). Trusted: for
        background jobs and bootstrap/demo code only, never for anything a person or a token asked.
        `on_behalf_of` names the configured source a job acts for (a SCIM provisioning client, an LDAP
        source), which the audit log shows: "system:scim (Entra ID production)"."""
        if not isinstance(job, str) or not _JOB_NAME.match(job):
            raise ValueError(f"A system actor names its job in lower-case-with-dashes, not {job!r}.")
        return cls(kind=ActorKind.SYSTEM, job=job, on_behalf_of=on_behalf_of[:120])

    def with_mfa_verified_at(self, at: datetime | None) -> "Actor":
        """The same person with a (fresher) step-up time. Service principals and the system never
        carry one: they are returned unchanged."""
        if self.kind != ActorKind.PERSON or at is None:
            return self
        if timezone.is_naive(at):
            raise ValueError("mfa_verified_at must carry a time zone.")
        return replace(self, mfa_verified_at=at)

    # --- what services read ------------------------------------------------------------------------

    @property
    def is_person(self) -> bool:
        return self.kind == ActorKind.PERSON

    @property
    def is_service_principal(self) -> bool:
        return self.kind == ActorKind.SERVICE_PRINCIPAL

    @property
    def is_system(self) -> bool:
        return self.kind == ActorKind.SYSTEM

    @property
    def is_authenticated(self) -> bool:
        """True for people and service principals, whose refusals are audited; the system is not a
        signed-in identity (read by `audited_refusal` and the selectors' authority checks)."""
        return self.kind != ActorKind.SYSTEM

    @property
    def principal(self) -> "Principal | None":
        """The directory principal whose assignments give this actor its authority (None: system)."""
        if self.kind == ActorKind.PERSON:
            return self.user.principal
        return self._principal

    @property
    def audit_actor_id(self) -> int | None:
        """`AuditEvent.actor_id`: the person's user id; None for service principals and the system."""
        return self.user.pk if self.user is not None else None

    @property
    def label(self) -> str:
        """`AuditEvent.actor_label`: the person's name, "<name> (service principal)", or "system:<job>"."""
        if self.kind == ActorKind.PERSON:
            return str(self.user)
        if self.kind == ActorKind.SERVICE_PRINCIPAL:
            return f"{self._principal.display_name} (service principal)"
        return f"system:{self.job} ({self.on_behalf_of})" if self.on_behalf_of else f"system:{self.job}"

    def __str__(self) -> str:
        return self.label

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Actor):
            return NotImplemented
        return (self.kind, self.audit_actor_id, getattr(self._principal, "pk", None), self.job) == (
            other.kind, other.audit_actor_id, getattr(other._principal, "pk", None), other.job)

    def __hash__(self) -> int:
        return hash((self.kind, self.audit_actor_id, getattr(self._principal, "pk", None), self.job))


def as_actor(value: Any) -> Actor:
    """The `Actor` of a service call: an Actor as it is, a signed-in `User` as a person (so callers
    that pass `request.user` keep working). None is refused: a trusted call names its job with
    `Actor.system(...)`, it is never implied by a missing actor."""
    if isinstance(value, Actor):
        return value
    if value is None:
        raise TypeError("actor is required: pass the person (User or Actor.person), the service principal "
                        "(Actor.service_principal) or, for a background job, Actor.system('<job>').")
    if hasattr(value, "_meta") and hasattr(value, "is_authenticated") and hasattr(value, "get_username"):
        return Actor.person(value)
    if getattr(value, "is_anonymous", False):
        raise forbidden("Sign in first.")
    raise TypeError(f"Not an actor: {type(value).__name__}.")

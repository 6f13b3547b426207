"""Reads of the policy app: who may see the configuration, versions, proposals, dual control."""

from django.db.models import QuerySet

from assignments import selectors as assignment_selectors

from .models import ConfigVersion, DualControl, Proposal
from .registry import KINDS

# The configuration (policies, approvers, mappings) is shown to those who may change it and to auditors.
VIEWER_ROLES = assignment_selectors.DIRECTORY_VIEWER_ROLES


def policy_viewable_by(*, user) -> bool:
    return assignment_selectors.user_holds_any(user=user, role_slugs=VIEWER_ROLES)


def policy_writable_by(*, user) -> bool:
    """Who may import, roll back, propose and decide here: Global and Privileged Role Administrators (each
    change is then checked again by its owner's service, as that person, with their MFA)."""
    return assignment_selectors.user_holds_any(user=user, role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES)


def version_list(*, kind: str = "", key: str = "", limit: int = 100) -> QuerySet[ConfigVersion]:
    qs = ConfigVersion.objects.select_related("created_by")
    if kind:
        qs = qs.filter(kind=kind)
    if key:
        qs = qs.filter(key=key)
    return qs.order_by("-created_at", "-pk")[:limit] if not key else qs.order_by("-number")[:limit]


def proposal_list(*, status: str = "", decided: bool = False, limit: int = 100) -> QuerySet[Proposal]:
    qs = Proposal.objects.select_related("created_by", "decided_by")
    if status:
        qs = qs.filter(status=status)
    if decided:
        qs = qs.exclude(status=Proposal.Status.PENDING)
    return qs.order_by("-created_at", "-pk")[:limit]


def dual_control_list() -> QuerySet[DualControl]:
    return DualControl.objects.select_related("scope", "created_by").order_by("scope__path")


def versioned_kinds() -> list:
    return [kind for kind in KINDS.values() if kind.versioned]

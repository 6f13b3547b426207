"""Reads for the connectors' pages, the API and the request timeline."""

from django.db.models import Count, Q, QuerySet

from assignments import selectors as assignment_selectors

from .models import Drift, Effect, Mapping, Target

RECENT = 50


def user_manages_connectors(*, user) -> bool:
    return assignment_selectors.user_holds_any(user=user, role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES)


def target_list() -> QuerySet[Target]:
    return Target.objects.annotate(
        mapping_count=Count("mappings", distinct=True),
        open_drift=Count("drifts", filter=Q(drifts__status=Drift.Status.OPEN), distinct=True),
    ).order_by("name", "pk")


def target_mappings(*, target: Target) -> list[Mapping]:
    return list(target.mappings.select_related("role", "scope").order_by("role__name", "scope__path", "pk"))


def target_effects_recent(*, target: Target, limit: int = RECENT) -> list[Effect]:
    return list(Effect.objects.filter(target=target).select_related("mapping", "principal", "request", "outbox_message")
                .order_by("-queued_at", "-pk")[:limit])


def target_drift_open(*, target: Target) -> list[Drift]:
    return list(Drift.objects.filter(target=target, status=Drift.Status.OPEN)
                .select_related("mapping", "mapping__role", "mapping__scope", "principal")
                .order_by("first_seen_at", "pk"))


def effects_for_request(*, request) -> list[Effect]:
    """What a request caused in the targets, for its timeline (one query): its grants, and the revokes
    of the assignment it provisioned (an expiry has no request of its own). Webhook deliveries are
    notifications, not grants: not listed."""
    condition = Q(request_id=request.pk)
    if getattr(request, "assignment_id", None):
        condition |= Q(assignment_id=request.assignment_id)
    return list(Effect.objects.filter(condition).exclude(action=Effect.Action.EVENT).select_related("mapping", "target")
                .order_by("queued_at", "pk"))


def incident_drift_panel(incident, user):
    """The drift an incident of `connector_drift` / `roles_assigned_outside_pim` lists, with its fixes, for
    the incident page (alerts.definitions.incident_panel_register). Nothing for people who cannot fix it."""
    ids = {item.get("data", {}).get("drift_id") for item in (incident.items or [])}
    ids.add((incident.data or {}).get("drift_id"))
    ids = {pk for pk in ids if isinstance(pk, int)}
    if not ids or not user_manages_connectors(user=user):
        return None
    drifts = list(Drift.objects.filter(pk__in=ids).select_related("mapping", "target", "principal")
                  .order_by("first_seen_at", "pk"))
    if not drifts:
        return None
    from django.urls import reverse

    return "connectors/_incident_drift.html", {"drifts": drifts,
                                               "next": reverse("alerts:incident", args=[incident.pk])}

"""The weekly digest to Privileged Role Administrators, Security Administrators and Global
Administrators (DESIGN §3): users activated, users made permanent, assignments made in PIM,
assignments made outside PIM, top 5 roles by holders, with links. Queued once per ISO week."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from assignments.models import Assignment

from .email import email_enqueue
from .events import _url, _when, digest_recipients

LIST_LIMIT = 20


def _row(a: dict) -> dict:
    return {"principal": a["principal__display_name"], "role": a["role__name"], "scope": a["scope__path"],
            "kind": a["kind"], "created": _when(a["created_at"])}


def digest_weekly_data(*, now: datetime) -> dict:
    """The digest's figures for the 7 days before `now` (a handful of aggregate queries)."""
    since = now - timedelta(days=7)
    created = Assignment.objects.filter(created_at__gte=since, created_at__lt=now)
    fields = ("principal__display_name", "role__name", "scope__path", "kind", "created_at")
    activations = created.filter(activated_from__isnull=False)
    activated_users = list(
        activations.values("principal__display_name").annotate(n=Count("pk")).order_by("-n", "principal__display_name")
    )
    assignments = created.filter(activated_from__isnull=True)
    permanent = assignments.filter(end_at__isnull=True)
    in_pim = assignments.filter(origin=Assignment.Origin.PIM)
    outside = assignments.filter(origin=Assignment.Origin.OUTSIDE)
    top_roles = list(
        Assignment.objects.held_at(now).filter(kind=Assignment.Kind.ACTIVE).values("role__name")
        .annotate(holders=Count("principal", distinct=True)).order_by("-holders", "role__name")[:5]
    )
    return {
        "since": _when(since),
        "until": _when(now),
        "activations": activations.count(),
        "users_activated": [{"name": r["principal__display_name"], "count": r["n"]}
                            for r in activated_users[:LIST_LIMIT]],
        "users_activated_count": len(activated_users),
        "made_permanent_count": permanent.count(),
        "made_permanent": [_row(a) for a in permanent.order_by("-created_at").values(*fields)[:LIST_LIMIT]],
        "in_pim_count": in_pim.count(),
        "in_pim": [_row(a) for a in in_pim.order_by("-created_at").values(*fields)[:LIST_LIMIT]],
        "outside_count": outside.count(),
        "outside": [_row(a) for a in outside.order_by("-created_at").values(*fields)[:LIST_LIMIT]],
        "top_roles": [{"role": r["role__name"], "holders": r["holders"]} for r in top_roles],
        "assignments_link": _url(("assignments:list",), (), "/manage/"),
        "audit_link": _url(("audit:list",), (), "/audit/"),
        "alerts_link": _url(("alerts:list",), (), "/alerts/"),
        "portal_link": _url(("portal:home",), (), "/"),
    }


def digest_weekly_send(*, now: datetime | None = None) -> int:
    """Queue this week's digest to each recipient once (dedupe key: the ISO week, so running it twice
    in a week queues nothing new). Returns the number of recipients."""
    now = now or timezone.now()
    year, week, _ = now.isocalendar()
    with transaction.atomic():
        recipients = digest_recipients(at=now)
        if not recipients:
            return 0
        context = digest_weekly_data(now=now)
        context["week"] = f"{year}-W{week:02d}"
        return email_enqueue(recipients=recipients, template="email/digest", context=context,
                             dedupe_key=f"digest:{year}-W{week:02d}")

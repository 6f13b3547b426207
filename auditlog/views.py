"""The auditor pages: the audit log, "My audit", one event, and the CSV download."""

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit import integrity
from core.ids import parse_id

from . import export, selectors


def _int_param(request, name: str) -> int | None:
    return parse_id(request.GET.get(name, ""))


def _filter_query(request) -> str:
    params = request.GET.copy()
    for name in ("before_seq", "after_seq"):
        params.pop(name, None)
    return params.urlencode()


def _list(request, *, mine: bool):
    if not mine and not selectors.user_can_see_audit_log(user=request.user):
        raise PermissionDenied("The audit log is for auditors and resource administrators.")
    filterset = selectors.audit_filterset(user=request.user, params=request.GET, mine=mine)
    page = None
    if filterset.is_valid():
        page = selectors.audit_page(queryset=filterset.qs, before_seq=_int_param(request, "before_seq"),
                                    after_seq=_int_param(request, "after_seq"))
    return render(request, "audit/event_list.html", {
        "filterset": filterset,
        "page": page,
        "mine": mine,
        "filter_query": _filter_query(request),
        "export_url_name": "audit:mine_export" if mine else "audit:export",
    }, status=200 if page is not None else 400)


@login_required
@require_GET
def event_list(request):
    return _list(request, mine=False)


@login_required
@require_GET
def my_event_list(request):
    return _list(request, mine=True)


def _export(request, *, mine: bool):
    if not mine and not selectors.user_can_see_audit_log(user=request.user):
        raise PermissionDenied("The audit log is for auditors and resource administrators.")
    try:
        csv_export = export.audit_csv_export(user=request.user, params=request.GET, mine=mine)
    except selectors.AuditFilterInvalid as error:
        return HttpResponseBadRequest("Invalid filters: " + json.dumps(error.errors), content_type="text/plain")
    return export.audit_csv_response(csv_export)


@login_required
@require_GET
def event_export(request):
    return _export(request, mine=False)


@login_required
@require_GET
def my_event_export(request):
    return _export(request, mine=True)


def _pretty(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def before_after_rows(before, after) -> list[dict]:
    """One row per top-level key of either snapshot: the two values, pretty-printed, and whether
    it changed."""
    before_d = before if isinstance(before, dict) else ({"(value)": before} if before is not None else {})
    after_d = after if isinstance(after, dict) else ({"(value)": after} if after is not None else {})
    rows = []
    for key in sorted(set(before_d) | set(after_d)):
        old, new = before_d.get(key), after_d.get(key)
        rows.append({
            "key": key,
            "before": _pretty(old) if key in before_d else "—",
            "after": _pretty(new) if key in after_d else "—",
            "changed": key not in before_d or key not in after_d or old != new,
        })
    return rows


@login_required
@require_GET
def event_detail(request, seq: int):
    event = selectors.audit_event_get(user=request.user, seq=seq)
    if event is None:
        raise Http404("No such event, or not yours to see.")
    return render(request, "audit/event_detail.html", {
        "event": event,
        "diff": before_after_rows(event.before, event.after),
        "chain": integrity.audit_event_chain_status(event=event),
        "can_see_log": selectors.user_can_see_audit_log(user=request.user),
    })

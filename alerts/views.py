"""Pages of the alerts app: the alert catalogue and its settings, incidents with resolve / dismiss /
fix in place, discovery of standing privilege with the convert-to-eligible wizard, the emergency
access checks and the administrators' dashboard.

Each view: permission gate, parse, one service or selector, respond. Refusals become form errors
or 4xx pages, never 500s.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from assignments.capabilities import user_capabilities
from assignments.models import Assignment
from assignments.rules import asks_for_step_up
from core.errors import DomainError, invalid
from core.forms import form_add_domain_error
from core.mfa import mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored

from . import charts, definitions, selectors, services
from .forms import (
    AddApproversForm,
    AlertSettingForm,
    ConvertSelectForm,
    FixAssignmentForm,
    IncidentFilterForm,
    ReasonForm,
)
from .models import Incident


def _require(request, capability: str, message: str) -> None:
    if not user_capabilities(request).get(capability):
        raise PermissionDenied(message)


def _require_alert_viewer(request) -> None:
    if not selectors.user_can_view_alerts(user=request.user):
        raise PermissionDenied("Security alerts are for directory administrators, security administrators and readers.")


# --- Alerts ----------------------------------------------------------------------------------------


@login_required
def alert_list(request):
    _require_alert_viewer(request)
    return render(request, "alerts/list.html", {
        "configs": selectors.alert_configs(),
        "can_manage": selectors.user_can_manage_alerts(user=request.user),
    })


@login_required
@require_http_methods(["GET", "POST"])
def alert_detail(request, key: str):
    _require_alert_viewer(request)
    config = selectors.alert_config(key=key)
    if config is None:
        raise Http404("No such alert.")
    is_admin = selectors.user_is_directory_admin(user=request.user)
    status = 200
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied("Only Global and Privileged Role Administrators change alert settings.")
        form = AlertSettingForm(request.POST, definition=config.definition)
        if form.is_valid():
            try:
                services.alert_setting_update(actor=request.user, key=key, enabled=form.cleaned_data["enabled"],
                                              thresholds=form.thresholds(), mfa_verified_at=mfa_verified_at(request),
                                              reason=form.cleaned_data["reason"])
                messages.success(request, f"Settings of “{config.definition.name}” saved.")
                return redirect("alerts:detail", key=key)
            except DomainError as error:
                if asks_for_step_up(error):
                    return step_up_redirect(request)
                form_add_domain_error(form, error)
                status = error.status
        else:
            status = 400
    elif (restored := step_up_restored(request)) is not None:
        form = AlertSettingForm(restored, definition=config.definition)  # back from the step-up
    else:
        form = AlertSettingForm(initial={"enabled": config.enabled, **config.thresholds}, definition=config.definition)
    incidents = selectors.incident_list(alert_key=key)[:50]
    return render(request, "alerts/detail.html", {
        "config": config, "form": form, "is_admin": is_admin, "incidents": incidents,
        "can_manage": selectors.user_can_manage_alerts(user=request.user),
    }, status=status)


@login_required
@require_POST
def run_one(request, key: str):
    _require_alert_viewer(request)
    if definitions.definition_get(key) is None:
        raise Http404("No such alert.")
    try:
        result = services.alert_run_now(actor=request.user, key=key)
    except DomainError as error:
        raise PermissionDenied(error.message) if error.code == "forbidden" else Http404(error.message)
    if result.skipped:
        messages.info(request, "This alert is raised by events or is turned off; nothing was evaluated.")
    else:
        messages.success(request, f"Evaluated: {result.findings} finding(s), {result.opened} new incident(s), "
                                  f"{result.cleared} cleared.")
    return redirect("alerts:detail", key=key)


@login_required
@require_POST
def run_all(request):
    _require_alert_viewer(request)
    try:
        results = services.alerts_evaluate_all(actor=request.user, trigger="manual")
    except DomainError as error:
        raise PermissionDenied(error.message)
    opened = sum(r.opened for r in results)
    cleared = sum(r.cleared for r in results)
    messages.success(request, f"All alerts evaluated: {opened} new incident(s), {cleared} cleared.")
    return redirect("alerts:list")


# --- Incidents -------------------------------------------------------------------------------------


@login_required
def incident_list(request):
    _require_alert_viewer(request)
    form = IncidentFilterForm(request.GET or {"status": Incident.Status.OPEN})
    if not form.is_valid():
        return render(request, "alerts/incidents.html", {"form": form, "incidents": []}, status=400)
    data = form.cleaned_data
    incidents = selectors.incident_list(status=data["status"] or None, severity=data["severity"] or None,
                                        alert_key=data["alert"] or None)[:200]
    return render(request, "alerts/incidents.html", {"form": form, "incidents": incidents,
                                                     "groups": selectors.incidents_by_alert(incidents=incidents)})


def _incident_or_404(pk: int) -> Incident:
    incident = selectors.incident_get(pk=pk)
    if incident is None:
        raise Http404("No such incident.")
    return incident


def _render_incident(request, incident: Incident, *, status: int = 200, **forms):
    definition = definitions.definition_get(incident.alert_key)
    fixes = set(definition.fixes) if definition else set()
    context = {
        "incident": incident,
        "definition": definition,
        "assignments": selectors.incident_assignments(incident=incident),
        "can_manage": selectors.user_can_manage_alerts(user=request.user),
        "fix_remove": definitions.FIX_REMOVE in fixes,
        "fix_make_eligible": definitions.FIX_MAKE_ELIGIBLE in fixes,
        "fix_require_mfa": definitions.FIX_REQUIRE_MFA in fixes,
        "fix_add_approvers": definitions.FIX_ADD_APPROVERS in fixes,
        "resolve_form": forms.get("resolve_form") or ReasonForm(prefix="resolve"),
        "dismiss_form": forms.get("dismiss_form") or ReasonForm(prefix="dismiss"),
        "approvers_form": forms.get("approvers_form") or AddApproversForm(),
        "fix_error": forms.get("fix_error", ""),
        "panels": definitions.incident_panels(incident, request.user),
    }
    return render(request, "alerts/incident.html", context, status=status)


@login_required
def incident_detail(request, pk: int):
    _require_alert_viewer(request)
    return _render_incident(request, _incident_or_404(pk))


def _setting_id(request) -> int | None:
    """The role setting a fix names (`setting_id`), if any; not a number is a 400."""
    value = (request.POST.get("setting_id") or "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit():
        raise invalid("Choose the role setting to fix.", field="setting_id")
    return int(value)


INCIDENT_ACTIONS = {"resolve", "dismiss", "remove", "make-eligible", "require-mfa", "add-approvers"}


@login_required
@require_POST
def incident_action(request, pk: int, action: str):
    _require_alert_viewer(request)
    if action not in INCIDENT_ACTIONS:
        raise Http404("No such action.")
    incident = _incident_or_404(pk)
    user = request.user
    try:
        if action in ("resolve", "dismiss"):
            form = ReasonForm(request.POST, prefix=action)
            if not form.is_valid():
                return _render_incident(request, incident, status=400, **{f"{action}_form": form})
            service = services.incident_resolve if action == "resolve" else services.incident_dismiss
            service(actor=user, incident=incident, reason=form.cleaned_data["reason"])
            messages.success(request, "Incident resolved." if action == "resolve" else "Incident dismissed.")
        elif action in ("remove", "make-eligible"):
            form = FixAssignmentForm(request.POST)
            if not form.is_valid():
                errors = "; ".join(e for errs in form.errors.values() for e in errs)
                return _render_incident(request, incident, status=400, fix_error=errors)
            if action == "remove":
                services.incident_fix_remove_assignment(actor=user, incident=incident,
                                                        assignment_id=form.cleaned_data["assignment_id"],
                                                        justification=form.cleaned_data["justification"])
                messages.success(request, "Assignment removed.")
            else:
                services.incident_fix_make_eligible(actor=user, incident=incident,
                                                    assignment_id=form.cleaned_data["assignment_id"],
                                                    justification=form.cleaned_data["justification"])
                messages.success(request, "Converted to an eligible assignment.")
        elif action == "require-mfa":
            services.incident_fix_require_mfa(actor=user, incident=incident, setting_id=_setting_id(request),
                                              mfa_verified_at=mfa_verified_at(request))
            messages.success(request, "MFA is now required on activation.")
        else:
            form = AddApproversForm(request.POST)
            if not form.is_valid():
                return _render_incident(request, incident, status=400, approvers_form=form)
            services.incident_fix_add_approvers(actor=user, incident=incident,
                                                approver_ids=[p.pk for p in form.cleaned_data["approvers"]],
                                                setting_id=_setting_id(request),
                                                mfa_verified_at=mfa_verified_at(request))
            messages.success(request, "Approvers added.")
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, reverse("alerts:incident", args=[incident.pk]), keep_form=False)
        return _render_incident(request, incident, status=error.status, fix_error=error.message)
    return redirect("alerts:incident", pk=incident.pk)


# --- Discovery -------------------------------------------------------------------------------------


@login_required
def discovery(request):
    _require(request, "directory_admin", "Discovery is for Global Administrators and Privileged Role Administrators.")
    rows = list(selectors.privileged_assignments_visible_to(user=request.user))
    now = timezone.now()
    permanent_active = sum(1 for a in rows if a.kind == Assignment.Kind.ACTIVE and a.end_at is None)
    return render(request, "alerts/discovery.html", {
        "rows": rows, "now": now, "permanent_active": permanent_active,
        "eligible": sum(1 for a in rows if a.kind == Assignment.Kind.ELIGIBLE),
    })


def _convert_choices(candidates: list[Assignment]) -> list[tuple[int, str]]:
    return [(a.pk, f"{a.principal} · {a.role.name} @ {a.scope.path}") for a in candidates
            if not getattr(getattr(a.principal, "user", None), "is_emergency_access", False)]


@login_required
@require_http_methods(["GET", "POST"])
def discovery_convert(request):
    """The wizard: choose → preview (what will change, what will be refused) → confirm → results."""
    _require(request, "directory_admin", "Discovery is for Global Administrators and Privileged Role Administrators.")
    candidates = list(selectors.permanent_active_visible_to(user=request.user))
    emergency = [a for a in candidates if getattr(getattr(a.principal, "user", None), "is_emergency_access", False)]
    choices = _convert_choices(candidates)
    context = {"candidates": [a for a in candidates if a not in emergency], "emergency": emergency}
    if request.method == "GET":
        context["form"] = ConvertSelectForm(choices=choices)
        return render(request, "alerts/convert_select.html", context)
    form = ConvertSelectForm(request.POST, choices=choices)
    context["form"] = form
    if not form.is_valid():
        return render(request, "alerts/convert_select.html", context, status=400)
    chosen = [a for a in candidates if a.pk in set(form.cleaned_data["assignments"])]
    plans = selectors.make_eligible_preview(actor=request.user, assignments=chosen)
    if request.POST.get("step") != "confirm":
        context.update(plans=plans, justification=form.cleaned_data["justification"],
                       will_change=sum(1 for p in plans if not p.problem))
        return render(request, "alerts/convert_preview.html", context)
    try:
        results = services.assignment_make_eligible_bulk(
            actor=request.user, assignment_ids=[p.assignment.pk for p in plans if not p.excluded],
            justification=form.cleaned_data["justification"],
            end_at_for={p.assignment.pk: p.end_at for p in plans})
    except DomainError as error:
        form.add_error(None, error.message)
        return render(request, "alerts/convert_select.html", context, status=error.status)
    context.update(results=results, done=sum(1 for r in results if r.done))
    return render(request, "alerts/convert_result.html", context)


@login_required
def emergency_access(request):
    _require(request, "directory_viewer", "Emergency access is for directory administrators and readers.")
    accounts, checks = selectors.emergency_access_report()
    sign_ins = selectors.incident_list(alert_key=definitions.EMERGENCY_SIGN_IN)[:20]
    return render(request, "alerts/emergency.html", {"accounts": accounts, "checks": checks, "sign_ins": sign_ins,
                                                     "all_ok": all(c.ok for c in checks)})


# --- Dashboard -------------------------------------------------------------------------------------


@login_required
def dashboard(request):
    _require(request, "any_admin", "The dashboard is for administrators.")
    data = selectors.dashboard_for(user=request.user)
    return render(request, "alerts/dashboard.html", {
        "d": data,
        "chart_activations": charts.column_chart(title="Activations per day, last 30 days",
                                                 series=data.activations_per_day, css_class="chart-activations"),
        "chart_types": charts.bar_chart(title="Assignments by type", series=data.by_type,
                                        css_class="chart-types"),
        "chart_top_roles": charts.bar_chart(title="Top roles by holders", series=data.top_roles,
                                            css_class="chart-top-roles"),
    })

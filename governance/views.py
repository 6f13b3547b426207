"""Pages of governance: the what-if simulator, separation of duties (conflict sets, exceptions,
existing conflicts) and right-sizing with its one-click fixes.

Each view: permission gate, parse, one service or selector, respond. Refusals become form errors or
4xx pages; a change that needs a fresh verification sends the person through the step-up and back.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from assignments.rules import asks_for_step_up
from core.errors import DomainError
from core.forms import form_add_domain_error
from core.mfa import mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored

from . import rightsizing, selectors, separation, services
from .forms import ConflictSetForm, ExceptionForm, FixForm, RightsizingSettingsForm, WhatIfForm
from .models import ConflictException, ConflictSet
from .whatif import Proposal, whatif_explain


def _require_viewer(request) -> None:
    if not selectors.user_can_view_governance(user=request.user):
        raise PermissionDenied("Governance pages are for directory administrators and readers.")


@login_required
def whatif(request):
    _require_viewer(request)
    form = WhatIfForm(request.GET or None)
    explanation = None
    status = 200
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        proposal = None
        if data["proposed_values"] is not None or data["proposed_scope"] is not None:
            proposal = Proposal(values=data["proposed_values"] or {}, scope=data["proposed_scope"])
        try:
            explanation = whatif_explain(
                principal=data["principal"], role=data["role"], scope=data["scope"], at=data["at"],
                duration_minutes=data["duration_minutes"], justification=data["justification"],
                ticket_system=data["ticket_system"], ticket_number=data["ticket_number"],
                mfa_verified=data["mfa_verified"], client_ip=data["client_ip"] or None, proposal=proposal)
        except DomainError as error:
            form_add_domain_error(form, error)
            status = 400
    elif form.is_bound:
        status = 400
    return render(request, "governance/whatif.html", {"form": form, "explanation": explanation}, status=status)


def _separation_page(request, *, set_form=None, exception_form=None, status=200):
    return render(request, "governance/separation.html", {
        "sets": selectors.conflict_sets(), "exceptions": selectors.exceptions_live(),
        "conflicts": separation.conflicts_existing(),
        "set_form": set_form or ConflictSetForm(prefix="set"),
        "exception_form": exception_form or ExceptionForm(prefix="exc", initial={
            "end_at": (timezone.now() + timezone.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")}),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def separation_of_duties(request):
    _require_viewer(request)
    if request.method == "GET":
        restored = step_up_restored(request)
        return _separation_page(request, set_form=ConflictSetForm(restored, prefix="set") if restored else None)
    form = ConflictSetForm(request.POST, prefix="set")
    if form.is_valid():
        data = form.cleaned_data
        try:
            made = services.conflict_set_save(actor=request.user, name=data["name"], description=data["description"],
                                              mode=data["mode"], role_ids=[r.pk for r in data["roles"]],
                                              mfa_verified_at=mfa_verified_at(request))
            messages.success(request, f"Saved the conflict set {made.name}.")
            return redirect("governance:separation")
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request)
            form_add_domain_error(form, error)
    return _separation_page(request, set_form=form, status=400)


@login_required
@require_POST
def conflict_set_delete(request, pk: int):
    _require_viewer(request)
    found = ConflictSet.objects.filter(pk=pk).first()
    if found is None:
        raise Http404("No such conflict set.")
    try:
        services.conflict_set_delete(actor=request.user, conflict_set=found, mfa_verified_at=mfa_verified_at(request))
        messages.success(request, f"Deleted the conflict set {found.name}.")
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, keep_form=False)
        messages.error(request, error.message)
    return redirect("governance:separation")


@login_required
@require_POST
def exception_grant(request):
    _require_viewer(request)
    form = ExceptionForm(request.POST, prefix="exc")
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.conflict_exception_grant(actor=request.user, conflict_set=data["conflict_set"],
                                              principal=data["principal"], justification=data["justification"],
                                              end_at=data["end_at"], mfa_verified_at=mfa_verified_at(request))
            messages.success(request, f"Granted the exception to {data['principal']}.")
            return redirect("governance:separation")
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request, keep_form=False)
            form_add_domain_error(form, error)
    return _separation_page(request, exception_form=form, status=400)


@login_required
@require_POST
def exception_revoke(request, pk: int):
    _require_viewer(request)
    found = ConflictException.objects.filter(pk=pk).first()
    if found is None:
        raise Http404("No such exception.")
    try:
        services.conflict_exception_revoke(actor=request.user, exception=found,
                                           mfa_verified_at=mfa_verified_at(request))
        messages.success(request, "Revoked the exception.")
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, keep_form=False)
        messages.error(request, error.message)
    return redirect("governance:separation")


def _rightsizing_page(request, *, settings_form=None, status=200):
    thresholds = rightsizing.rightsizing_thresholds()
    found = rightsizing.recommendations_list(thresholds=thresholds)
    return render(request, "governance/rightsizing.html", {
        "recommendations": found, "thresholds": thresholds, "kinds": rightsizing.KIND_LABELS,
        "counts": {kind: sum(1 for r in found if r.kind == kind) for kind in rightsizing.KIND_LABELS},
        "settings_form": settings_form or RightsizingSettingsForm(initial=vars(thresholds), prefix="rs"),
        "can_change": selectors.user_can_change_governance(user=request.user),
    }, status=status)


@login_required
def rightsizing_list(request):
    _require_viewer(request)
    restored = step_up_restored(request)
    return _rightsizing_page(request, settings_form=RightsizingSettingsForm(restored, prefix="rs") if restored
                             else None)


@login_required
@require_POST
def rightsizing_settings(request):
    _require_viewer(request)
    form = RightsizingSettingsForm(request.POST, prefix="rs")
    if form.is_valid():
        try:
            services.rightsizing_settings_update(actor=request.user, values=form.cleaned_data,
                                                 mfa_verified_at=mfa_verified_at(request))
            messages.success(request, "Saved the right-sizing settings.")
            return redirect("governance:rightsizing")
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request, reverse("governance:rightsizing"))
            form_add_domain_error(form, error)
    return _rightsizing_page(request, settings_form=form, status=400)


@login_required
@require_POST
def rightsizing_apply(request):
    _require_viewer(request)
    form = FixForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a recommendation to act on.")
        return redirect("governance:rightsizing")
    try:
        rightsizing.rightsizing_apply(actor=request.user, key=form.cleaned_data["key"],
                                      justification=form.cleaned_data["justification"],
                                      mfa_verified_at=mfa_verified_at(request))
        messages.success(request, "Done: the recommendation was carried out.")
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, keep_form=False)
        messages.error(request, error.message)
    return redirect("governance:rightsizing")

"""Pages of the request rules: a role setting's justification, ticket and break-glass rules and its
auto-approval rules (with their on-call rosters), the break-glass activation, and the post-hoc reviews.
Each view: permission gate, parse, call one service or selector, respond; `DomainError` becomes a form
error, a step-up or a 403/404 page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from assignments import rules as assignment_rules
from assignments import selectors as assignment_selectors
from assignments.models import Assignment, RoleSetting
from audit.middleware import client_ip_of
from core.actors import Actor
from core.errors import DomainError, raise_page_refusal
from core.forms import form_add_domain_error
from core.mfa import mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored
from core.timezones import local_text

from . import breakglass, catalogue, selectors, services
from .forms import (
    AutoApprovalRuleForm,
    BatchDecisionForm,
    BreakGlassForm,
    CatalogueForm,
    RequestRulesForm,
    ReviewCompleteForm,
    RosterUploadForm,
)
from .models import AutoApprovalRule, BreakGlassReview, OnCallShift, RequestBatch


def _submitted(request):
    return request.POST if request.method == "POST" else step_up_restored(request)


def _managed_setting(request, setting_id: int) -> RoleSetting:
    setting = RoleSetting.objects.select_related("role", "scope").filter(pk=setting_id).first()
    if setting is None:
        raise Http404("No such role setting.")
    if not assignment_selectors.user_can_manage(user=request.user, role=setting.role, scope=setting.scope):
        raise PermissionDenied(f"Only the administrators of {setting.role.name} at {setting.scope.path} see its "
                               "request rules.")
    return setting


def _refused(request, form, error: DomainError):
    """A step-up redirect when the refusal asks for one; else the error on the form (403/404 pages raise)."""
    if assignment_rules.asks_for_step_up(error):
        return step_up_redirect(request, request.get_full_path(), message=error.message)
    raise_page_refusal(error)
    form_add_domain_error(form, error)
    return None


@login_required
@require_http_methods(["GET", "POST"])
def request_rules_page(request, setting_id: int):
    setting = _managed_setting(request, setting_id)
    current = selectors.request_rules_for(setting=setting)
    initial = services.request_rules_values(current)
    form = RequestRulesForm(_submitted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_rules_update(actor=request.user, setting=setting, values=form.cleaned_data,
                                          mfa_verified_at=mfa_verified_at(request))
        except DomainError as error:
            response = _refused(request, form, error)
            if response is not None:
                return response
        else:
            messages.success(request, f"Request rules of {setting.role.name} at {setting.scope.path} saved.")
            return redirect("selfservice:rules", setting_id=setting.pk)
    return render(request, "selfservice/rules.html", {
        "setting": setting, "form": form, "auto_rules": selectors.auto_approval_rules_for(setting=setting),
    }, status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def auto_rule_create_page(request, setting_id: int):
    setting = _managed_setting(request, setting_id)
    form = AutoApprovalRuleForm(_submitted(request), setting=setting)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rule = services.auto_approval_rule_create(
                actor=request.user, setting=setting, name=data["name"], group=data["group"],
                on_call=data["on_call"], roster_url=data["roster_url"], roster_zone=data["roster_zone"],
                time_windows=data["time_windows"], time_windows_zone=data["time_windows_zone"],
                ticket_pattern=data["ticket_pattern"], max_duration_minutes=data["max_duration_minutes"],
                mfa_verified_at=mfa_verified_at(request))
        except DomainError as error:
            response = _refused(request, form, error)
            if response is not None:
                return response
        else:
            messages.success(request, f"Auto-approval rule “{rule.name}” added.")
            return redirect("selfservice:auto_rule", rule_id=rule.pk)
    return render(request, "selfservice/auto_rule_create.html", {"setting": setting, "form": form},
                  status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def auto_rule_page(request, rule_id: int):
    rule = AutoApprovalRule.objects.select_related("setting", "setting__role", "setting__scope", "group").filter(
        pk=rule_id).first()
    if rule is None:
        raise Http404("No such auto-approval rule.")
    setting = _managed_setting(request, rule.setting_id)
    form = RosterUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and request.POST.get("action") == "delete":
        try:
            services.auto_approval_rule_delete(actor=request.user, rule=rule, mfa_verified_at=mfa_verified_at(request))
        except DomainError as error:
            response = _refused(request, form, error)
            if response is not None:
                return response
        else:
            messages.success(request, f"Auto-approval rule “{rule.name}” deleted.")
            return redirect("selfservice:rules", setting_id=setting.pk)
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["roster"]
        try:
            summary = services.auto_approval_roster_import(
                actor=request.user, rule=rule, content=upload.read(services.MAX_ROSTER_BYTES + 1) if upload else None,
                mfa_verified_at=mfa_verified_at(request))
        except DomainError as error:
            response = _refused(request, form, error)
            if response is not None:
                return response
        else:
            messages.success(request, f"Roster imported: {summary['shifts']} shifts; "
                                      f"{summary['events_naming_nobody_known']} events name nobody known here.")
            return redirect("selfservice:auto_rule", rule_id=rule.pk)
    shifts = (OnCallShift.objects.filter(rule=rule, end_at__gt=timezone.now()).select_related("user")
              .order_by("start_at")[:50])
    return render(request, "selfservice/auto_rule.html", {"rule": rule, "setting": setting, "form": form,
                                                          "shifts": shifts,
                                                          "refresh_minutes": settings.PIM_ROSTER_REFRESH_MINUTES,
                                                          "horizon_days": settings.PIM_ROSTER_HORIZON_DAYS},
                  status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def break_glass_page(request, eligible_id: int):
    eligible = Assignment.objects.select_related("principal", "role", "scope").filter(
        pk=eligible_id, kind=Assignment.Kind.ELIGIBLE).first()
    if eligible is None:
        raise Http404("No such eligible assignment.")
    if eligible.principal_id != request.user.principal.pk:
        raise PermissionDenied("That eligible assignment is not yours.")
    setting, request_rules = selectors.request_rules_effective(role=eligible.role, scope=eligible.scope)
    if request_rules is None or not request_rules.allow_break_glass or not setting.require_approval:
        raise PermissionDenied(f"The policy of {eligible.role.name} does not allow break-glass self-approval.")
    form = BreakGlassForm(_submitted(request), setting=setting)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = breakglass.request_break_glass(
                actor=request.user, eligible_assignment=eligible, reason=data["reason"],
                duration_minutes=data["duration_minutes"], ticket_system=data["ticket_system"],
                ticket_number=data["ticket_number"], mfa_verified_at=mfa_verified_at(request),
                client_ip=client_ip_of(request))
        except DomainError as error:
            response = _refused(request, form, error)
            if response is not None:
                return response
        else:
            messages.warning(request, f"{eligible.role.name} is active until {local_text(created.end_at)} "
                                      "(break-glass). Its administrators have been alerted and a review is open.")
            return redirect("approvals:request_detail", request_id=created.pk)
    return render(request, "selfservice/break_glass.html", {
        "eligible": eligible, "setting": setting, "request_rules": request_rules, "form": form,
    }, status=400 if request.method == "POST" else 200)


@login_required
def review_list_page(request):
    reviews = selectors.break_glass_reviews_for(user=request.user)
    return render(request, "selfservice/reviews.html", {"reviews": reviews, "now": timezone.now()})


@login_required
@require_http_methods(["GET", "POST"])
def review_page(request, review_id: int):
    review = BreakGlassReview.objects.select_related(
        "request", "request__role", "request__scope", "request__principal", "request__assignment",
        "completed_by").filter(pk=review_id).first()
    if review is None:
        raise Http404("No such break-glass review.")
    mine = review.request.requested_by_id == request.user.pk
    if not mine and not assignment_selectors.user_can_manage(user=request.user, role=review.request.role,
                                                             scope=review.request.scope):
        raise PermissionDenied("Only the role's administrators see this review.")
    form = ReviewCompleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            breakglass.break_glass_review_complete(actor=request.user, review=review,
                                                 outcome=form.cleaned_data["outcome"],
                                                 comment=form.cleaned_data["comment"])
        except DomainError as error:
            response = _refused(request, form, error)
            if response is not None:
                return response
        else:
            messages.success(request, "Review completed.")
            return redirect("selfservice:review", review_id=review.pk)
    return render(request, "selfservice/review.html", {
        "review": review, "form": form, "mine": mine, "waiver": selectors.waiver_for(request=review.request),
        "now": timezone.now()}, status=400 if request.method == "POST" else 200)



# --- the request catalogue -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def catalogue_page(request):
    form = CatalogueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            batch = catalogue.eligibility_request_many(actor=request.user, items=data["items"], end_at=data["end_at"],
                                                       justification=data["justification"])
        except DomainError as error:
            raise_page_refusal(error)
            form_add_domain_error(form, error)
        else:
            count = batch.items.count()
            messages.success(request, f"{count} request{'s' if count != 1 else ''} sent to the roles' administrators.")
            return redirect("selfservice:batch", batch_id=batch.pk)
    return render(request, "selfservice/catalogue.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


def _batch_or_404(request, batch_id) -> tuple[RequestBatch, list]:
    batch = RequestBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise Http404("No such batch of requests.")
    items = selectors.batch_items_for(user=request.user, batch=batch)
    if batch.requested_by_id != request.user.pk and not any(item.can_decide for item in items):
        raise PermissionDenied("These requests are someone else's, and you decide none of them.")
    return batch, items


@login_required
def batch_page(request, batch_id):
    batch, items = _batch_or_404(request, batch_id)
    return render(request, "selfservice/batch.html", {
        "batch": batch, "items": items, "form": BatchDecisionForm(), "mine": batch.requested_by_id == request.user.pk})


@login_required
@require_POST
def batch_decide(request, batch_id, request_id):
    batch, _items = _batch_or_404(request, batch_id)
    form = BatchDecisionForm(request.POST)
    approve = request.POST.get("decision") == "approve"
    if not form.is_valid():
        messages.error(request, "The comment is too long (2000 characters at most). Nothing was decided.")
        return redirect("selfservice:batch", batch_id=batch.pk)
    try:
        outcome = catalogue.batch_item_decide(
            actor=Actor.person(request.user, mfa_verified_at=mfa_verified_at(request)), batch=batch,
            request_id=request_id, approve=approve, comment=form.cleaned_data["comment"])
    except DomainError as error:
        if assignment_rules.asks_for_step_up(error):
            return step_up_redirect(request, reverse("selfservice:batch", args=[batch.pk]), keep_form=False,
                                    message=error.message)
        raise_page_refusal(error)
        messages.error(request, error.message)
    else:
        (messages.warning if outcome.outcome == "failed" else messages.success)(request, outcome.message)
    return redirect("selfservice:batch", batch_id=batch.pk)

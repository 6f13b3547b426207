"""Policy pages: the version history of each item with its diffs and rollback, dual control, proposals and
their decisions, export and import (plan, then apply). Each view: gate, parse, one service or selector."""

from urllib.parse import urlencode

import yaml
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from assignments.models import Scope
from assignments.rules import asks_for_step_up
from core.actors import Actor
from core.errors import DomainError, invalid, raise_page_refusal
from core.forms import form_add_domain_error
from core.mfa import mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored

from . import documents, selectors, services
from .forms import CommentForm, DocumentForm, DualControlForm, ProposalWhatIfForm, ProposeForm, ReasonForm
from .models import Proposal
from .registry import KINDS


def _require_viewer(user) -> None:
    if not selectors.policy_viewable_by(user=user):
        raise PermissionDenied("The policy configuration is for administrators and auditors.")


def _require_writer(user) -> None:
    if not selectors.policy_writable_by(user=user):
        raise PermissionDenied("Only Global Administrators and Privileged Role Administrators change the "
                               "configuration here.")


def _actor(request) -> Actor:
    return Actor.person(request.user, mfa_verified_at=mfa_verified_at(request))


def _outcome_message(request, outcome: services.Outcome) -> None:
    (messages.info if outcome.proposal else messages.success)(request, outcome.message)


@login_required
def index(request):
    _require_viewer(request.user)
    return render(request, "policy/index.html", {
        "controls": selectors.dual_control_list(), "pending": selectors.proposal_list(status=Proposal.Status.PENDING),
        "decided": selectors.proposal_list(decided=True, limit=20),
        "versions": selectors.version_list(limit=50), "dual_form": DualControlForm(), "kinds": KINDS.values()})


def _kind_and_key(params) -> tuple:
    kind = KINDS.get(params.get("kind", ""))
    key = params.get("key", "")
    if kind is None or not kind.versioned or not key:
        raise Http404("Name a versioned kind and an item.")
    return kind, key


@login_required
def history(request):
    _require_viewer(request.user)
    kind, key = _kind_and_key(request.GET)
    versions = list(selectors.version_list(kind=kind.name, key=key, limit=500))
    return render(request, "policy/history.html", {
        "kind": kind, "key": key, "versions": versions, "current": kind.snapshot(key),
        "form": ReasonForm(step_up_restored(request))})


@login_required
@require_POST
def rollback(request):
    _require_writer(request.user)
    kind, key = _kind_and_key(request.POST)
    back = f"{reverse('policy:history')}?{urlencode({'kind': kind.name, 'key': key})}"
    form = ReasonForm(request.POST)
    number = request.POST.get("number", "")
    if not form.is_valid() or not number.isdigit():
        messages.error(request, "Say why you roll back, and pick a version.")
        return redirect(back)
    try:
        outcome = services.version_rollback(actor=_actor(request), kind=kind.name, key=key, number=int(number),
                                            reason=form.cleaned_data["reason"])
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, back)
        raise_page_refusal(error)
        messages.error(request, error.message)
    else:
        _outcome_message(request, outcome)
    return redirect(back)


@login_required
@require_POST
def dual_control(request):
    _require_writer(request.user)
    form = DualControlForm(request.POST)
    enabled = request.POST.get("enabled") == "1"
    if not form.is_valid():
        messages.error(request, "Name a scope path.")
        return redirect("policy:index")
    scope = Scope.objects.filter(path=form.cleaned_data["scope"].strip()).first()
    if scope is None:
        messages.error(request, f"No scope {form.cleaned_data['scope']}.")
        return redirect("policy:index")
    try:
        if enabled:
            changed = services.dual_control_set(actor=_actor(request), scope=scope, enabled=True)
            outcome = services.Outcome(message=f"Dual control is on at {scope.path}." if changed
                                       else f"Dual control was already on at {scope.path}.")
        else:
            outcome = services.dual_control_off(actor=_actor(request), scope=scope,
                                                reason=request.POST.get("reason", ""))
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, reverse("policy:index"), keep_form=False)
        raise_page_refusal(error)
        messages.error(request, error.message)
    else:
        _outcome_message(request, outcome)
    return redirect("policy:index")


def _yaml(data) -> str:
    return "" if data is None else yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


@login_required
@require_http_methods(["GET", "POST"])
def propose(request):
    _require_viewer(request.user)
    initial = {}
    if request.method == "GET" and request.GET.get("kind") in KINDS and request.GET.get("key"):
        kind = KINDS[request.GET["kind"]]
        initial = {"kind": kind.name, "key": request.GET["key"], "data": _yaml(kind.snapshot(request.GET["key"]))}
    if request.method == "POST":
        _require_writer(request.user)
    form = ProposeForm(request.POST or step_up_restored(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            try:
                data = yaml.safe_load(form.cleaned_data["data"] or "")
            except yaml.YAMLError as error:
                raise invalid(f"This is not valid YAML: {error}", field="data") from None
            if data is not None and not isinstance(data, dict):
                raise invalid("The new state is a YAML mapping of fields (or empty to remove the item).", field="data")
            proposal = services.proposal_create(
                actor=_actor(request), reason=form.cleaned_data["reason"],
                changes=[{"kind": form.cleaned_data["kind"], "key": form.cleaned_data["key"].strip(), "data": data}])
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request)
            raise_page_refusal(error)
            form_add_domain_error(form, error)
        else:
            messages.success(request, f"Proposal #{proposal.pk} is waiting for a second administrator.")
            return redirect("policy:proposal", pk=proposal.pk)
    return render(request, "policy/propose.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


@login_required
def proposal_detail(request, pk: int):
    _require_viewer(request.user)
    proposal = get_object_or_404(Proposal.objects.select_related("created_by", "decided_by"), pk=pk)
    changes = [{"kind": KINDS[c["kind"]], "key": c["key"], "data": _yaml(c["data"]),
                "diff": KINDS[c["kind"]].diff(base, c["data"])}
               for c, base in zip(proposal.changes, proposal.base, strict=True)]
    whatif_form = ProposalWhatIfForm(request.GET if "principal" in request.GET else None)
    explanation, status = None, 200
    if whatif_form.is_bound and proposal.status == Proposal.Status.PENDING:
        if whatif_form.is_valid():
            data = whatif_form.cleaned_data
            try:
                explanation = services.proposal_whatif(
                    proposal=proposal, principal=data["principal"], role=data["role"], scope=data["scope"],
                    at=data["at"], duration_minutes=data["duration_minutes"], justification=data["justification"],
                    ticket_system=data["ticket_system"], ticket_number=data["ticket_number"],
                    mfa_verified=data["mfa_verified"], client_ip=data["client_ip"] or None)
            except DomainError as error:
                form_add_domain_error(whatif_form, error)
                status = 400
        else:
            status = 400
    return render(request, "policy/proposal.html", {
        "proposal": proposal, "changes": changes, "form": CommentForm(step_up_restored(request)),
        "is_author": proposal.created_by_id == request.user.pk, "whatif_form": whatif_form,
        "explanation": explanation}, status=status)


@login_required
@require_POST
def proposal_decide(request, pk: int, decision: str):
    _require_writer(request.user)
    proposal = get_object_or_404(Proposal, pk=pk)
    decide = {"approve": services.proposal_approve, "reject": services.proposal_reject,
              "withdraw": services.proposal_withdraw}.get(decision)
    if decide is None:
        raise Http404("No such decision.")
    form = CommentForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        decided = decide(actor=_actor(request), proposal=proposal, comment=comment)
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, reverse("policy:proposal", args=[pk]))
        raise_page_refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(request, f"Proposal #{pk} {decided.get_status_display().lower()}.")
    return redirect("policy:proposal", pk=pk)


@login_required
def export(request):
    _require_viewer(request.user)
    response = HttpResponse(documents.config_export_yaml(), content_type="application/yaml; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="pim-policy-{stamp}.yaml"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def import_document(request):
    _require_viewer(request.user)
    form = DocumentForm(request.POST or step_up_restored(request), request.FILES or None)
    plan = None
    status = 200
    if request.method == "POST" and form.is_valid():
        text = form.text()
        try:
            if request.POST.get("action") == "apply":
                _require_writer(request.user)
                outcome = services.config_import(actor=_actor(request), text=text,
                                                 reason=form.cleaned_data.get("reason", ""),
                                                 prune=form.cleaned_data["prune"])
                _outcome_message(request, outcome)
                if outcome.proposal:
                    return redirect("policy:proposal", pk=outcome.proposal.pk)
                return redirect("policy:index")
            plan = documents.config_plan(text, prune=form.cleaned_data["prune"])
            form = DocumentForm(initial={"document": text, "reason": form.cleaned_data.get("reason", ""),
                                         "prune": form.cleaned_data["prune"]})
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request)
            raise_page_refusal(error)
            form_add_domain_error(form, error)
            status = 400
    elif request.method == "POST":
        status = 400
    return render(request, "policy/import.html", {"form": form, "plan": plan}, status=status)

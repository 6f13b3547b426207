"""Connectors pages (Global Administrators and Privileged Role Administrators): targets, their mappings,
Test connection, reconciliation on demand, drift and its fixes, recent effects. Each view: permission
gate, parse, one service or selector, respond."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from assignments.rules import asks_for_step_up
from core.errors import DomainError, raise_page_refusal
from core.forms import form_add_domain_error
from core.mfa import mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored

from . import reconcile, selectors, services
from .forms import JustificationForm, MappingEditForm, MappingForm, TargetForm
from .kinds import KINDS
from .models import Drift, Effect, Mapping, Target


def _require_admin(user) -> None:
    if not selectors.user_manages_connectors(user=user):
        raise PermissionDenied("Only Global Administrators and Privileged Role Administrators manage connectors.")




def _form_error(form, error: DomainError) -> None:
    """Field names of the services are the config keys; the form prefixes them."""
    errors = {}
    for name, texts in error.errors.items():
        if name and f"config_{name}" in form.fields:
            name = f"config_{name}"
        elif name not in form.fields:
            name = None
        errors.setdefault(name, []).extend(texts)
    form_add_domain_error(form, type(error)(error.message, code=error.code, errors=errors))


@login_required
def index(request):
    _require_admin(request.user)
    return render(request, "connectors/index.html", {"targets": selectors.target_list(), "kinds": KINDS.values()})


SECRET_SESSION_KEY = "connectors.webhook_secret.{pk}"


def _target_create(request, form, kind: str):
    """(target, generated signing secret or "") — a webhook target without a secret gets one."""
    values = {"actor": request.user, "name": form.cleaned_data["name"], "config": form.config(),
              "secret": form.cleaned_data["secret"], "enabled": form.cleaned_data["enabled"],
              "mfa_verified_at": mfa_verified_at(request)}
    if not KINDS[kind].has_holders:
        return services.webhook_target_create(**values)
    return services.target_create(kind=kind, **values), ""


@login_required
@require_http_methods(["GET", "POST"])
def target_create(request, kind: str):
    _require_admin(request.user)
    if kind not in KINDS:
        raise Http404("No such connector type.")
    form = TargetForm(request.POST or step_up_restored(request), kind=kind)
    if request.method == "POST" and form.is_valid():
        try:
            target, generated = _target_create(request, form, kind)
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request)
            raise_page_refusal(error)
            _form_error(form, error)
        else:
            if generated:
                request.session[SECRET_SESSION_KEY.format(pk=target.pk)] = generated
                messages.success(request, f"Webhook {target} saved. Copy its signing secret now: it is shown once.")
            elif KINDS[kind].has_holders:
                messages.success(request, f"Target {target} saved. Test the connection, then map roles to it.")
            else:
                messages.success(request, f"Webhook {target} saved.")
            return redirect("connectors:target", pk=target.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "connectors/target_form.html", {"form": form, "kind": KINDS[kind]}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def target_detail(request, pk: int):
    _require_admin(request.user)
    target = get_object_or_404(Target, pk=pk)
    form = TargetForm(request.POST or step_up_restored(request), kind=target.kind, editing=True,
                      initial=TargetForm.initial_for(target))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.target_update(actor=request.user, target=target, name=form.cleaned_data["name"],
                                       config=form.config(), enabled=form.cleaned_data["enabled"],
                                       secret=form.cleaned_data["secret"] or None,
                                       mfa_verified_at=mfa_verified_at(request))
            except DomainError as error:
                if asks_for_step_up(error):
                    return step_up_redirect(request)
                raise_page_refusal(error)
                _form_error(form, error)
            else:
                messages.success(request, "Target saved.")
                return redirect("connectors:target", pk=target.pk)
        status = 400
    return _detail(request, target, form=form, status=status)


def _detail(request, target: Target, *, form=None, mapping_form=None, edit_form=None, status: int = 200):
    """The target's page; `edit_form` is the one mapping's edit that was refused (shown open, with its errors)."""
    kind = KINDS.get(target.kind)
    form = form or TargetForm(kind=target.kind, editing=True, initial=TargetForm.initial_for(target))
    if kind is not None and not kind.has_holders:
        return _webhook_detail(request, target, kind, form, status)
    mappings = selectors.target_mappings(target=target)
    for m in mappings:
        m.target = target
        m.edit_form = edit_form if edit_form is not None and edit_form.mapping.pk == m.pk else \
            MappingEditForm(mapping=m)
    return render(request, "connectors/target_detail.html", {
        "target": target, "kind": kind, "form": form,
        "mapping_form": mapping_form or MappingForm(kind=target.kind), "mappings": mappings,
        "drifts": selectors.target_drift_open(target=target), "effects": selectors.target_effects_recent(target=target),
        "adopt_form": JustificationForm(),
    }, status=status)


def _webhook_detail(request, target: Target, kind, form, status: int):
    """A webhook target's page: its deliveries instead of mappings and drift; a generated signing secret
    is shown once (and the page not cached)."""
    secret = request.session.pop(SECRET_SESSION_KEY.format(pk=target.pk), None)
    response = render(request, "connectors/webhook_detail.html", {
        "target": target, "kind": kind, "form": form, "secret": secret,
        "effects": selectors.target_effects_recent(target=target),
    }, status=status)
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def target_rotate_secret(request, pk: int):
    _require_admin(request.user)
    target = get_object_or_404(Target, pk=pk)
    try:
        secret = services.webhook_target_rotate_secret(actor=request.user, target=target,
                                                       mfa_verified_at=mfa_verified_at(request))
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, reverse("connectors:target", args=[pk]))
        raise_page_refusal(error)
        messages.error(request, error.message)
    else:
        request.session[SECRET_SESSION_KEY.format(pk=target.pk)] = secret
        messages.success(request, "New signing secret generated; the old one no longer signs deliveries.")
    return _back(pk)


def _back(pk: int, request=None):
    """To the target's page, or to the page the form came from (`next`: the incident page) if it is ours."""
    to = (request.POST.get("next") or "") if request is not None else ""
    if to and url_has_allowed_host_and_scheme(to, allowed_hosts={request.get_host()},
                                              require_https=request.is_secure()):
        return redirect(to)
    return redirect("connectors:target", pk=pk)


@login_required
@require_POST
def target_test(request, pk: int):
    _require_admin(request.user)
    target = get_object_or_404(Target, pk=pk)
    result = services.target_test(actor=request.user, target=target)
    (messages.success if result.ok else messages.error)(request, result.message)
    return _back(pk)


@login_required
@require_POST
def target_reconcile(request, pk: int):
    _require_admin(request.user)
    target = get_object_or_404(Target, pk=pk)
    result = reconcile.target_reconcile(target=target, actor=request.user)
    if result.errors:
        messages.error(request, "Could not read the target: " + "; ".join(result.errors))
    else:
        messages.success(request, f"Read {result.holders} holder(s) of {result.mappings} mapping(s): "
                                  f"{result.opened} new drift, {result.cleared} cleared.")
    return _back(pk)


@login_required
@require_POST
def target_delete(request, pk: int):
    _require_admin(request.user)
    target = get_object_or_404(Target, pk=pk)
    try:
        services.target_delete(actor=request.user, target=target, mfa_verified_at=mfa_verified_at(request))
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, reverse("connectors:target", args=[pk]))
        raise_page_refusal(error)
        messages.error(request, error.message)
        return _back(pk)
    messages.success(request, f"Target {target} deleted.")
    return redirect("connectors:index")


@login_required
@require_POST
def mapping_create(request, pk: int):
    _require_admin(request.user)
    target = get_object_or_404(Target, pk=pk)
    form = MappingForm(request.POST, kind=target.kind)
    return _mapping_save(request, target, form, lambda data: services.mapping_create(
        actor=request.user, target=target, role=data["role"], scope=data["scope"], grant=data["grant"],
        options=form.options(), mfa_verified_at=mfa_verified_at(request), reason=data["reason"]),
        saved="Mapping saved: transitions of that role at that scope now reach the target.", mapping_form=form)


def _mapping_or_404(pk: int, mapping_id: int) -> Mapping:
    return get_object_or_404(Mapping.objects.select_related("role", "scope", "target"), pk=mapping_id, target_id=pk)


def _mapping_save(request, target: Target, form, save, *, saved: str, **refused):
    """Call `save(cleaned data)` for a valid mapping form: to the step-up, or back with `saved`, or the
    target's page again with the form's errors (`refused` says which form it is)."""
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request, reverse("connectors:target", args=[target.pk]))
            raise_page_refusal(error)
            form_add_domain_error(form, error)
        else:
            messages.success(request, saved)
            return _back(target.pk)
    return _detail(request, target, status=400, **refused)


@login_required
@require_POST
def mapping_update(request, pk: int, mapping_id: int):
    _require_admin(request.user)
    mapping = _mapping_or_404(pk, mapping_id)
    form = MappingEditForm(request.POST, mapping=mapping)
    return _mapping_save(request, mapping.target, form, lambda data: services.mapping_update(
        actor=request.user, mapping=mapping, role=data["role"], scope=data["scope"], grant=data["grant"],
        options=form.options(), reason=data["reason"], mfa_verified_at=mfa_verified_at(request)),
        saved="Mapping changed: its holders' grants follow it in the target.", edit_form=form)


@login_required
@require_POST
def mapping_delete(request, pk: int, mapping_id: int):
    _require_admin(request.user)
    mapping = _mapping_or_404(pk, mapping_id)
    try:
        services.mapping_delete(actor=request.user, mapping=mapping, mfa_verified_at=mfa_verified_at(request),
                                reason=request.POST.get("reason", ""))
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, reverse("connectors:target", args=[pk]))
        raise_page_refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(request, "Mapping removed.")
    return _back(pk)


@login_required
@require_POST
def effect_retry(request, pk: int, effect_id: int):
    _require_admin(request.user)
    effect = get_object_or_404(Effect, pk=effect_id, target_id=pk)
    try:
        services.effect_retry(actor=request.user, effect=effect)
    except DomainError as error:
        raise_page_refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(request, "The effect will be applied again.")
    return _back(pk)


@login_required
@require_POST
def drift_fix(request, pk: int, drift_id: int, fix: str):
    _require_admin(request.user)
    drift = get_object_or_404(Drift.objects.select_related("mapping", "target"), pk=drift_id, target_id=pk)
    try:
        if fix == "revoke":
            services.drift_fix_revoke(actor=request.user, drift=drift, mfa_verified_at=mfa_verified_at(request))
        elif fix == "adopt":
            form = JustificationForm(request.POST)
            services.drift_fix_adopt(actor=request.user, drift=drift,
                                     justification=form.data.get("justification", ""),
                                     mfa_verified_at=mfa_verified_at(request))
        elif fix == "regrant":
            services.drift_fix_regrant(actor=request.user, drift=drift)
        else:
            raise Http404("No such fix.")
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, _back(pk, request).url)
        raise_page_refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(request, "Fixed.")
    return _back(pk, request)

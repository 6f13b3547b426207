"""Integrations pages: webhooks (role administrators) and SCIM applications per group (group owners and
role administrators). Each view: permission gate, parse, one service or selector, respond."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from assignments.models import RoleDefinition, Scope
from assignments.rules import asks_for_step_up
from assignments.selectors import user_can_manage
from core.errors import DomainError, raise_page_refusal
from core.forms import form_add_domain_error
from core.mfa import mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored

from . import scim, selectors, services
from .forms import ScimApplicationEditForm, ScimApplicationForm, WebhookEndpointForm
from .models import ScimApplication, ScimOperation, WebhookDelivery, WebhookEndpoint

SECRET_SESSION_KEY = "provisioning.webhook_secret.{pk}"


def _form_error(form, error: DomainError) -> None:
    form_add_domain_error(form, error)




def _require_webhook_admin(user) -> None:
    if not selectors.user_manages_webhooks(user=user):
        raise PermissionDenied("Only Global Administrators and Privileged Role Administrators manage webhooks.")


def _require_group_admin(user, application: ScimApplication) -> None:
    scope = Scope.objects.filter(group_id=application.group_id).first()
    role = RoleDefinition.objects.get(slug=RoleDefinition.GROUP_OWNER)
    if scope is None or not user_can_manage(user=user, role=role, scope=scope):
        raise PermissionDenied(f"Only the owners of {application.group} and role administrators manage its "
                               f"applications.")


@login_required
def index(request):
    manages_webhooks = selectors.user_manages_webhooks(user=request.user)
    groups = selectors.groups_manageable_by(user=request.user)
    if not manages_webhooks and not groups.exists():
        raise PermissionDenied("Integrations are managed by role administrators and group owners.")
    return render(request, "provisioning/index.html", {
        "manages_webhooks": manages_webhooks,
        "endpoints": selectors.webhook_endpoint_list() if manages_webhooks else [],
        "applications": selectors.scim_application_list(user=request.user),
    })


# --- webhooks ------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def webhook_create(request):
    _require_webhook_admin(request.user)
    form = WebhookEndpointForm(request.POST or step_up_restored(request))
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.webhook_endpoint_create(actor=request.user,
                                                                mfa_verified_at=mfa_verified_at(request),
                                                                **form.cleaned_data)
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request)
            raise_page_refusal(error)
            _form_error(form, error)
        else:
            request.session[SECRET_SESSION_KEY.format(pk=endpoint.pk)] = secret
            messages.success(request, "Endpoint registered. Copy its signing secret now: it is shown once.")
            return redirect("provisioning:webhook_detail", pk=endpoint.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "provisioning/webhook_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def webhook_detail(request, pk: int):
    _require_webhook_admin(request.user)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    initial = {"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types,
               "enabled": endpoint.enabled}
    form = WebhookEndpointForm(request.POST or step_up_restored(request), initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.webhook_endpoint_update(actor=request.user, endpoint=endpoint,
                                                 mfa_verified_at=mfa_verified_at(request), **form.cleaned_data)
            except DomainError as error:
                if asks_for_step_up(error):
                    return step_up_redirect(request)
                raise_page_refusal(error)
                _form_error(form, error)
            else:
                messages.success(request, "Endpoint saved.")
                return redirect("provisioning:webhook_detail", pk=endpoint.pk)
        status = 400
    secret = request.session.pop(SECRET_SESSION_KEY.format(pk=endpoint.pk), None)
    response = render(request, "provisioning/webhook_detail.html", {
        "endpoint": endpoint, "form": form, "secret": secret,
        "deliveries": selectors.webhook_deliveries_recent(endpoint=endpoint),
    }, status=status)
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def webhook_rotate_secret(request, pk: int):
    _require_webhook_admin(request.user)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    try:
        secret = services.webhook_endpoint_rotate_secret(actor=request.user, endpoint=endpoint,
                                                         mfa_verified_at=mfa_verified_at(request))
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, reverse("provisioning:webhook_detail", args=[endpoint.pk]))
        raise_page_refusal(error)
        messages.error(request, error.message)
    else:
        request.session[SECRET_SESSION_KEY.format(pk=endpoint.pk)] = secret
        messages.success(request, "New signing secret generated; the old one no longer signs deliveries.")
    return redirect("provisioning:webhook_detail", pk=endpoint.pk)


def _delete_or_refusal(request, detail_url: str, pk: int, delete):
    """Run a delete; on a refusal, the response that explains it: the step-up and back to the detail
    page when the change needs a fresh verification, else the detail page with the message."""
    try:
        delete()
    except DomainError as error:
        if asks_for_step_up(error):
            return step_up_redirect(request, reverse(detail_url, args=[pk]))
        raise_page_refusal(error)
        messages.error(request, error.message)
        return redirect(detail_url, pk=pk)
    return None


@login_required
@require_POST
def webhook_delete(request, pk: int):
    _require_webhook_admin(request.user)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    refused = _delete_or_refusal(request, "provisioning:webhook_detail", endpoint.pk, lambda: (
        services.webhook_endpoint_delete(actor=request.user, endpoint=endpoint,
                                         mfa_verified_at=mfa_verified_at(request))))
    if refused is not None:
        return refused
    messages.success(request, f"Endpoint {endpoint} deleted; its pending deliveries will not be sent.")
    return redirect("provisioning:index")


@login_required
@require_POST
def webhook_delivery_retry(request, pk: int, delivery_id):
    _require_webhook_admin(request.user)
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=delivery_id, endpoint_id=pk)
    try:
        services.webhook_delivery_retry(actor=request.user, delivery=delivery)
    except DomainError as error:
        raise_page_refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(request, "The delivery will be sent again.")
    return redirect("provisioning:webhook_detail", pk=pk)


# --- SCIM applications -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def scim_create(request):
    groups = selectors.groups_manageable_by(user=request.user)
    if not groups.exists():
        raise PermissionDenied("You own no group: only group owners and role administrators configure SCIM.")
    initial = {}
    try:
        initial["group"] = groups.filter(object_id=uuid.UUID(request.GET.get("group", ""))).first()
    except ValueError:
        pass
    form = ScimApplicationForm(request.POST or step_up_restored(request), groups=groups, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            application = services.scim_application_create(actor=request.user,
                                                            mfa_verified_at=mfa_verified_at(request),
                                                            **form.cleaned_data)
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request)
            raise_page_refusal(error)
            _form_error(form, error)
        else:
            messages.success(request, f"{application} will receive the memberships of {application.group}.")
            return redirect("provisioning:scim_detail", pk=application.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "provisioning/scim_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def scim_detail(request, pk: int):
    application = get_object_or_404(ScimApplication.objects.select_related("group"), pk=pk)
    _require_group_admin(request.user, application)
    initial = {"name": application.name, "base_url": application.base_url, "enabled": application.enabled}
    form = ScimApplicationEditForm(request.POST or step_up_restored(request), initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.scim_application_update(
                    actor=request.user, application=application, name=form.cleaned_data["name"],
                    base_url=form.cleaned_data["base_url"], enabled=form.cleaned_data["enabled"],
                    token=form.token_change, mfa_verified_at=mfa_verified_at(request))
            except DomainError as error:
                if asks_for_step_up(error):
                    return step_up_redirect(request)
                raise_page_refusal(error)
                _form_error(form, error)
            else:
                messages.success(request, "Application saved.")
                return redirect("provisioning:scim_detail", pk=application.pk)
        status = 400
    return render(request, "provisioning/scim_detail.html", {
        "application": application, "form": form,
        "operations": selectors.scim_operations_recent(application=application),
    }, status=status)


@login_required
@require_POST
def scim_delete(request, pk: int):
    application = get_object_or_404(ScimApplication.objects.select_related("group"), pk=pk)
    _require_group_admin(request.user, application)
    refused = _delete_or_refusal(request, "provisioning:scim_detail", application.pk, lambda: (
        services.scim_application_delete(actor=request.user, application=application,
                                         mfa_verified_at=mfa_verified_at(request))))
    if refused is not None:
        return refused
    messages.success(request, f"{application} deleted; its pending operations will not be sent.")
    return redirect("provisioning:index")


@login_required
@require_POST
def scim_operation_retry(request, pk: int, operation_id: int):
    application = get_object_or_404(ScimApplication.objects.select_related("group"), pk=pk)
    _require_group_admin(request.user, application)
    operation = get_object_or_404(ScimOperation.objects.select_related("application__group"), pk=operation_id,
                                  application=application)
    try:
        services.scim_operation_retry(actor=request.user, operation=operation)
    except DomainError as error:
        raise_page_refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(request, "The operation will run again.")
    return redirect("provisioning:scim_detail", pk=pk)


@login_required
@require_POST
def scim_check(request, pk: int):
    """Try the URL and token now (GET /Users?count=1) and say what happened."""
    application = get_object_or_404(ScimApplication.objects.select_related("group"), pk=pk)
    _require_group_admin(request.user, application)
    try:
        messages.success(request, scim.scim_application_check(application))
    except Exception as error:  # noqa: BLE001 — whatever went wrong is the answer the person asked for
        messages.error(request, f"The application did not answer as expected: {error}")
    return redirect("provisioning:scim_detail", pk=pk)

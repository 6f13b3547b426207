"""Integrations pages: webhooks (role administrators). Each view: permission gate, parse, one service or
selector, respond. (SCIM applications are connector targets: the Connectors pages.)"""


from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from assignments.rules import asks_for_step_up
from core.errors import DomainError, raise_page_refusal
from core.forms import form_add_domain_error
from core.mfa import mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored

from . import selectors, services
from .forms import WebhookEndpointForm
from .models import WebhookDelivery, WebhookEndpoint

SECRET_SESSION_KEY = "provisioning.webhook_secret.{pk}"


def _form_error(form, error: DomainError) -> None:
    form_add_domain_error(form, error)




def _require_webhook_admin(user) -> None:
    if not selectors.user_manages_webhooks(user=user):
        raise PermissionDenied("Only Global Administrators and Privileged Role Administrators manage webhooks.")


@login_required
def index(request):
    _require_webhook_admin(request.user)
    return render(request, "provisioning/index.html", {
        "manages_webhooks": True, "endpoints": selectors.webhook_endpoint_list(),
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

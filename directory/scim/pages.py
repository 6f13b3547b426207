"""Pages of SCIM provisioning clients (directory administrators): list and add clients, issue a token
(shown once), revoke tokens. Each view: permission gate, parse, one service or selector, respond."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from assignments.rules import asks_for_step_up
from core.errors import DomainError, raise_page_refusal
from core.forms import form_add_domain_error
from core.mfa import mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored

from ..models import ScimClient, ScimToken
from . import clients
from .forms import ScimClientForm, ScimTokenForm

SECRET_SESSION_KEY = "directory.scim_token.{pk}"


def _require_admin(user) -> None:
    if not clients.user_manages_scim_clients(user=user):
        raise PermissionDenied("Only Global Administrators and Privileged Role Administrators manage SCIM clients.")




@login_required
@require_http_methods(["GET", "POST"])
def client_list(request):
    _require_admin(request.user)
    form = ScimClientForm(request.POST or step_up_restored(request))
    if request.method == "POST" and form.is_valid():
        try:
            client = clients.scim_client_create(actor=request.user, mfa_verified_at=mfa_verified_at(request),
                                                **form.cleaned_data)
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request)
            raise_page_refusal(error)
            form_add_domain_error(form, error)
        else:
            messages.success(request, f"{client} added. Issue a token and paste it in the directory's provisioning "
                                      f"settings with the tenant URL below.")
            return redirect("directory_scim:client_detail", pk=client.pk)
    now = timezone.now()
    rows = clients.scim_clients_visible_to(user=request.user).annotate(
        # distinct: the two joins (tokens, resources) multiply each other's rows.
        live_tokens=Count("tokens", filter=Q(tokens__revoked_at__isnull=True, tokens__expires_at__gt=now),
                          distinct=True),
        users=Count("resources", filter=Q(resources__principal__kind="user"), distinct=True),
        groups=Count("resources", filter=Q(resources__principal__kind="group"), distinct=True))
    return render(request, "directory/scim_clients.html", {"clients": rows, "form": form},
                  status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def client_detail(request, pk: int):
    _require_admin(request.user)
    client = get_object_or_404(ScimClient, pk=pk)
    form = ScimTokenForm(request.POST or step_up_restored(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                token, secret = clients.scim_token_create(
                    actor=request.user, client=client, mfa_verified_at=mfa_verified_at(request),
                    expires_at=timezone.now() + timedelta(days=form.cleaned_data["expires_in_days"]))
            except DomainError as error:
                if asks_for_step_up(error):
                    return step_up_redirect(request)
                raise_page_refusal(error)
                form_add_domain_error(form, error)
            else:
                request.session[SECRET_SESSION_KEY.format(pk=client.pk)] = secret
                messages.success(request, "Token issued. Copy it now: it is shown once.")
                return redirect("directory_scim:client_detail", pk=client.pk)
        status = 400
    secret = request.session.pop(SECRET_SESSION_KEY.format(pk=client.pk), None)
    response = render(request, "directory/scim_client_detail.html", {
        "client": client, "form": form, "secret": secret, "now": timezone.now(),
        "tenant_url": request.build_absolute_uri("/scim/v2/"),
        "tokens": ScimToken.objects.filter(client=client).select_related("created_by").order_by("-created_at"),
    }, status=status)
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, pk: int, token_id: int):
    _require_admin(request.user)
    token = get_object_or_404(ScimToken.objects.select_related("client"), pk=token_id, client_id=pk)
    try:
        clients.scim_token_revoke(actor=request.user, token=token)
    except DomainError as error:
        raise_page_refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(request, f"Token {token.display_id} revoked: it no longer authenticates.")
    return redirect("directory_scim:client_detail", pk=pk)

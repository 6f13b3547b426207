"""The portal pages of the API: personal tokens, service principal credentials, the documentation.

Permission gate, parse, call one service, render. The secret of a new token is rendered once, in the
response to the POST that created it, and never stored or shown again.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from assignments import selectors as assignment_selectors
from assignments.rules import asks_for_step_up
from core.errors import DomainError
from core.forms import form_add_domain_error
from core.mfa import mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored

from . import selectors, services
from .forms import DeviceCodeForm, PersonalTokenForm, ServicePrincipalTokenForm
from .models import ApiToken


def _create(request, form):
    """One token from a valid form: a service principal credential, an administrative token (its lifetime
    is the setting's, not a choice) or a general personal token."""
    verified_at = mfa_verified_at(request)
    data = form.cleaned_data
    expires_at = timezone.now() + timedelta(days=data["days"])
    if isinstance(form, ServicePrincipalTokenForm):
        return services.token_create_for_service_principal(
            actor=request.user, service_principal=data["service_principal"], name=data["name"],
            expires_at=expires_at, mfa_verified_at=verified_at)
    if data["purpose"] == ApiToken.Purpose.ADMINISTRATION:
        return services.token_create_personal(actor=request.user, name=data["name"],
                                              purpose=ApiToken.Purpose.ADMINISTRATION, mfa_verified_at=verified_at)
    return services.token_create_personal(actor=request.user, name=data["name"], expires_at=expires_at,
                                          mfa_verified_at=verified_at)


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    created_secret = None
    created_token = None
    status = 200
    minutes = settings.PIM_API_ADMIN_TOKEN_MINUTES
    typed = step_up_restored(request)
    personal = PersonalTokenForm(admin_token_minutes=minutes,
                                 initial=typed.dict() if typed and typed.get("for") == "personal" else None)
    sp_form = ServicePrincipalTokenForm()
    if request.method == "POST":
        if request.POST.get("for") == "service_principal":
            form = sp_form = ServicePrincipalTokenForm(request.POST)
        else:
            form = personal = PersonalTokenForm(request.POST, admin_token_minutes=minutes)
        if form.is_valid():
            try:
                created_token, created_secret = _create(request, form)
            except DomainError as error:
                if asks_for_step_up(error):
                    return step_up_redirect(request)
                if error.code == "invalid":
                    form_add_domain_error(form, error)
                else:  # not about the input (and the form may not be shown to this person)
                    messages.error(request, error.message)
                status = error.status
            else:
                personal = PersonalTokenForm(admin_token_minutes=minutes)
                sp_form = ServicePrincipalTokenForm()
        else:
            status = 400
    is_directory_admin = assignment_selectors.user_holds_any(user=request.user,
                                                             role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES)
    sp_tokens = selectors.service_principal_tokens_visible_to(user=request.user) if is_directory_admin else []
    context = {
        "tokens": selectors.tokens_of_user(user=request.user),
        "sp_tokens": sp_tokens,
        "is_directory_admin": is_directory_admin,
        "created_secret": created_secret,
        "created_token": created_token,
        "admin_token_minutes": minutes,
        "form": personal,
        "sp_form": sp_form,
        "now": timezone.now(),
    }
    response = render(request, "api/tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk)
    try:
        services.token_revoke(actor=request.user, token=token)
        messages.success(request, f"Token {token.display_id} revoked.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("api:tokens")


def docs(request):
    """The API documentation (Swagger UI from this server's static files; no CDN). Signed-in people only,
    unless settings.PIM_API_DOCS_PUBLIC."""
    if not settings.PIM_API_DOCS_PUBLIC and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return render(request, "api/docs.html", {})


@login_required
@require_http_methods(["GET", "POST"])
def device(request):
    """Approve (or deny) the sign-in of a command-line client, `pim login`: the person checks that the code
    is the one their terminal shows, verifies with their authenticator (the step-up, when the session's
    verification is not fresh) and approves; the client then receives a token that acts as them."""
    typed = step_up_restored(request)
    data = request.POST if request.method == "POST" else (typed or request.GET)
    form = DeviceCodeForm(data if data.get("code") else None)
    authorization, done, status = None, None, 200
    if form.is_bound and form.is_valid():
        authorization = selectors.device_authorization_pending(user_code=form.cleaned_data["code"])
        if authorization is None:
            form.add_error("code", "No sign-in is waiting for this code (it was used, denied or has expired): "
                                   "start again from the command line.")
            status = 404
        elif request.method == "POST":
            decision = request.POST.get("decision")
            if decision not in ("approve", "deny"):
                form.add_error(None, "Choose Approve or Deny.")
                status = 400
            else:
                try:
                    services.device_authorization_decide(actor=request.user, authorization=authorization,
                                                         approve=decision == "approve",
                                                         mfa_verified_at=mfa_verified_at(request))
                except DomainError as error:
                    if asks_for_step_up(error):
                        return step_up_redirect(request, message="Verify with your authenticator to sign in the "
                                                                 "command line: its token carries this verification.")
                    form_add_domain_error(form, error)
                    status = error.status
                else:
                    done = decision
    elif form.is_bound:
        status = 400
    response = render(request, "api/device.html", {"form": form, "authorization": authorization, "done": done},
                      status=status)
    response["Cache-Control"] = "no-store"
    return response

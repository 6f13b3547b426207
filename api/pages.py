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
from assignments.models import Principal
from assignments.rules import asks_for_step_up
from core.errors import DomainError
from core.ids import parse_id
from core.mfa import mfa_verified_at
from core.stepup import step_up_redirect, step_up_restored

from . import selectors, services
from .models import ApiToken

LIFETIME_CHOICES = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (180, "180 days"), (365, "1 year")]


def _expiry(days_text: str):
    try:
        days = int(days_text)
    except (TypeError, ValueError):
        days = 30
    if days not in dict(LIFETIME_CHOICES):
        days = 30
    return timezone.now() + timedelta(days=days)


def _create(request):
    """One token from the posted form: a service principal credential, an administrative token (its
    lifetime is the setting's, not a choice) or a general personal token."""
    verified_at = mfa_verified_at(request)
    if request.POST.get("for") == "service_principal":
        sp = get_object_or_404(Principal, pk=parse_id(request.POST.get("service_principal", "")) or 0,
                               kind=Principal.Kind.SERVICE_PRINCIPAL)
        return services.token_create_for_service_principal(
            actor=request.user, service_principal=sp, name=request.POST.get("name", ""),
            expires_at=_expiry(request.POST.get("days")), mfa_verified_at=verified_at)
    if request.POST.get("purpose") == ApiToken.Purpose.ADMINISTRATION:
        return services.token_create_personal(actor=request.user, name=request.POST.get("name", ""),
                                              purpose=ApiToken.Purpose.ADMINISTRATION, mfa_verified_at=verified_at)
    return services.token_create_personal(actor=request.user, name=request.POST.get("name", ""),
                                          expires_at=_expiry(request.POST.get("days")), mfa_verified_at=verified_at)


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    created_secret = None
    created_token = None
    typed = step_up_restored(request)
    if request.method == "POST":
        try:
            created_token, created_secret = _create(request)
        except DomainError as error:
            if asks_for_step_up(error):
                return step_up_redirect(request)
            messages.error(request, error.message)
    is_directory_admin = assignment_selectors.user_holds_any(user=request.user,
                                                             role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES)
    sp_tokens = selectors.service_principal_tokens_visible_to(user=request.user) if is_directory_admin else []
    context = {
        "tokens": selectors.tokens_of_user(user=request.user),
        "sp_tokens": sp_tokens,
        "service_principals": selectors.service_principals_enabled() if is_directory_admin else [],
        "is_directory_admin": is_directory_admin,
        "created_secret": created_secret,
        "created_token": created_token,
        "lifetimes": LIFETIME_CHOICES,
        "admin_token_minutes": settings.PIM_API_ADMIN_TOKEN_MINUTES,
        "typed": typed or {},
        "now": timezone.now(),
    }
    response = render(request, "api/tokens.html", context)
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

"""Account security pages: MFA overview, TOTP enrolment (QR code rendered locally as SVG; the first
device needs an enrolment code), enrolment codes (emailed, or issued by a directory administrator and
shown once), backup codes (shown once), the step-up verification page, and the password reset pages
(allauth's views, switched by PIM_PASSWORD_RESET, writing through `services.password_reset_*`)."""

from base64 import b32encode
from urllib.parse import urlencode

import segno
from allauth.account import views as allauth_reset
from allauth.account.internal import flows
from allauth.core import ratelimit
from allauth.core.internal.ratelimit import parse_rates
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from assignments.models import User
from audit.middleware import client_ip_of
from core.errors import DomainError
from core.forms import form_add_domain_error
from core.mfa import mfa_is_fresh, mfa_mark_verified, mfa_verified_at

from . import services
from .forms import BackupCodesForm, CodeForm, EnrolForm, TimeZoneForm


def safe_next(request, default: str = "") -> str:
    value = request.POST.get("next") or request.GET.get("next") or ""
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                 require_https=request.is_secure()):
        return value
    return default or reverse("accounts:security")


def _with_next(url_name: str, next_url: str) -> str:
    return reverse(url_name) + ("?" + urlencode({"next": next_url}) if next_url else "")


@login_required
def security(request):
    return render(request, "accounts/security.html", {
        "devices": services.mfa_devices(user=request.user),
        "mfa_verified_at": mfa_verified_at(request),
        "mfa_fresh": mfa_is_fresh(request),
        "time_zone_form": TimeZoneForm(initial={"time_zone": request.user.time_zone or "UTC"}),
    })


@login_required
@require_POST
def time_zone(request):
    """The person's time zone: chosen on the Security page, or the browser's default, sent once by
    static/js/timezone.js while none is set (`source=browser`, never overriding a choice)."""
    if request.POST.get("source") == "browser":
        try:
            services.user_time_zone_set(actor=request.user, time_zone=request.POST.get("time_zone", ""),
                                        only_if_unset=True)
        except DomainError as error:
            return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
        return HttpResponse(status=204)
    form = TimeZoneForm(request.POST)
    if form.is_valid():
        services.user_time_zone_set(actor=request.user, time_zone=form.cleaned_data["time_zone"])
        messages.success(request, f"Times now show in {form.cleaned_data['time_zone']}.")
        return redirect("accounts:security")
    return render(request, "accounts/security.html", {
        "devices": services.mfa_devices(user=request.user),
        "mfa_verified_at": mfa_verified_at(request),
        "mfa_fresh": mfa_is_fresh(request),
        "time_zone_form": form,
    }, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def totp_enrol(request):
    next_url = safe_next(request)
    # Adding an authenticator to an account that already has one needs a fresh verification, so a
    # stolen session cannot plant its own.
    if services.mfa_has_device(user=request.user) and not mfa_is_fresh(request):
        messages.info(request, "Verify with your current authenticator before adding another.")
        return redirect(_with_next("accounts:verify", request.get_full_path()))
    device = services.mfa_totp_enrol_start(user=request.user)
    form = EnrolForm(request.POST or None, initial={"device_id": device.pk})
    if request.method == "POST" and form.is_valid():
        try:
            enrolment = services.mfa_totp_enrol_confirm(
                actor=request.user, device_id=form.cleaned_data["device_id"], token=form.cleaned_data["token"],
                enrolment_code=form.cleaned_data["enrolment_code"], mfa_verified_at=mfa_verified_at(request))
        except DomainError as error:
            form.add_error(error.field if error.field in ("token", "enrolment_code") else None, error.message)
        else:
            otp_login(request, enrolment.device)
            if enrolment.enrolment_code is not None:
                # The code is the second factor of this session; an additional device proves nothing
                # new, so it leaves the session's verification time as it was.
                mfa_mark_verified(request)
                messages.success(request, "Your authenticator app is enrolled, and this session is verified. "
                                          "Create backup codes now in case you lose your phone.")
            else:
                messages.success(request, "Your additional authenticator app is enrolled.")
            return redirect(next_url)
    secret = b32encode(device.bin_key).decode()
    qr = segno.make(device.config_url, error="m")
    return render(request, "accounts/totp_enrol.html", {
        "form": form, "next": next_url, "qr_svg": qr.svg_inline(scale=5, dark="#111827", light="#ffffff",
                                                             title="QR code for your authenticator app"),
        "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
        "has_device": services.mfa_has_device(user=request.user),
    })


@login_required
@require_POST
def enrolment_code_email(request):
    """"Email me a code" on the enrolment page: the code goes to the user's mailbox, never to the page."""
    next_url = safe_next(request)
    try:
        services.mfa_enrolment_code_email(user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"An enrolment code is on its way to {request.user.email}. It works once, for "
                                  f"{services.ENROLMENT_CODE_LIFETIME.seconds // 60} minutes.")
    return redirect(_with_next("accounts:totp_enrol", next_url))


def _login_retry_after_seconds() -> int:
    """The longest window of the failed-sign-in limits (settings.ACCOUNT_RATE_LIMITS): waiting that long
    always clears the limit that refused."""
    rates = parse_rates(settings.ACCOUNT_RATE_LIMITS.get("login_failed"))
    return int(max((rate.duration for rate in rates), default=60))


class LoginView(allauth_reset.LoginView):
    """allauth's sign-in, answering a refused submission with 400 (like every other form page) and the
    shared error summary (templates/account/login.html); a submission refused by the failed-sign-in
    limit with 429 and Retry-After, so clients and monitoring tell "slow down" from "wrong password"."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, code="too_many_login_attempts"):
            response.status_code = 429
            response["Retry-After"] = str(_login_retry_after_seconds())
        else:
            response.status_code = 400
        return response


login = LoginView.as_view()


@login_required
def email_managed_by_the_directory(request):
    """In place of allauth's "manage email addresses" page. The address comes from the directory and
    receives enrolment codes and security notices: a session that knows only the password must not
    be able to point it elsewhere."""
    raise PermissionDenied("Your email address comes from the directory: ask a directory administrator to "
                           "change it.")


@login_required
@require_POST
def enrolment_code_issue(request, user_pk: int):
    """A directory administrator issues a code for another user, from the user's directory page."""
    user = get_object_or_404(User.objects.select_related("principal"), pk=user_pk)
    try:
        row, code = services.mfa_enrolment_code_issue(actor=request.user, user=user)
    except DomainError as error:
        if error.code == "forbidden":
            raise PermissionDenied(error.message)
        messages.error(request, error.message)
        principal = getattr(user, "principal", None)
        return redirect("assignments:principal", pk=principal.pk) if principal else redirect("assignments:principals")
    response = render(request, "accounts/enrolment_code_issued.html", {"person": user, "code": code, "row": row})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def backup_codes(request):
    form = BackupCodesForm(request.POST if request.method == "POST" else None)
    if request.method == "GET":
        return render(request, "accounts/backup_codes.html", {"form": form,
                                                              "devices": services.mfa_devices(user=request.user)})
    if not mfa_is_fresh(request):
        messages.info(request, "Verify your identity before creating new backup codes.")
        return redirect(_with_next("accounts:verify", reverse("accounts:backup_codes")))
    try:
        codes = services.mfa_backup_codes_generate(actor=request.user)
    except DomainError as error:
        form.is_valid()
        form_add_domain_error(form, error)
        return render(request, "accounts/backup_codes.html",
                      {"form": form, "devices": services.mfa_devices(user=request.user)}, status=error.status)
    messages.success(request, "New backup codes created. Older codes no longer work.")
    response = render(request, "accounts/backup_codes.html", {"codes": codes,
                                                              "devices": services.mfa_devices(user=request.user)})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    """Step-up: a fresh TOTP or backup code. Without a device, the user is taken to enrolment and back."""
    next_url = safe_next(request, default=reverse("approvals:my_roles"))
    if not services.mfa_has_device(user=request.user):
        messages.info(request, "This needs multifactor authentication. Enrol an authenticator app first; you will "
                               "come back here afterwards.")
        return redirect(_with_next("accounts:totp_enrol", next_url))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.mfa_verify(actor=request.user, token=form.cleaned_data["token"])
        except DomainError as error:
            form.add_error("token", error.message)
        else:
            otp_login(request, device)
            mfa_mark_verified(request)
            messages.success(request, "Verified. You can now do what needed multifactor authentication.")
            return redirect(next_url)
    return render(request, "accounts/verify.html", {"form": form, "next": next_url},
                  status=400 if request.method == "POST" else 200)


# --- password reset (allauth's pages and link, the portal's templates, service and audit) -------------------


RESET_SESSION_KEY = "_password_reset_key"  # where allauth keeps the link's key between its two requests


class _PasswordResetSwitch:
    """Every page of the reset flow answers 404 with a page that says so while PIM_PASSWORD_RESET is off."""

    def dispatch(self, request, *args, **kwargs):
        if not services.password_reset_enabled():
            return render(request, "account/password_reset_off.html", {"sso": settings.PIM_SSO_CONFIGURED},
                          status=404)
        return super().dispatch(request, *args, **kwargs)


class PasswordResetView(_PasswordResetSwitch, allauth_reset.PasswordResetView):
    def form_valid(self, form):
        # allauth's limit (per client address and per typed address), then the portal's service: the
        # same redirect whether or not an account has the address.
        limited = ratelimit.consume_or_429(self.request, action="reset_password",
                                           key=form.cleaned_data["email"].lower())
        if limited:
            return limited
        services.password_reset_request(email=form.cleaned_data["email"], client_ip=client_ip_of(self.request))
        return redirect(self.get_success_url())


class PasswordResetDoneView(_PasswordResetSwitch, allauth_reset.PasswordResetDoneView):
    pass


class PasswordResetFromKeyView(_PasswordResetSwitch, allauth_reset.PasswordResetFromKeyView):
    def form_valid(self, form):
        try:
            services.password_reset_complete(user=self.reset_user, key=self.key,
                                             password=form.cleaned_data["password1"],
                                             client_ip=client_ip_of(self.request))
        except DomainError as error:
            form.add_error(None, error.message)
            return self.form_invalid(form)
        # allauth's follow-up: clears the sign-in failure counters, the "password changed" message.
        flows.password_reset.finalize_password_reset(self.request, self.reset_user)
        self.request.session.pop(RESET_SESSION_KEY, None)
        return redirect(self.get_success_url())


class PasswordResetFromKeyDoneView(_PasswordResetSwitch, allauth_reset.PasswordResetFromKeyDoneView):
    pass


password_reset = PasswordResetView.as_view()
password_reset_done = PasswordResetDoneView.as_view()
password_reset_from_key = PasswordResetFromKeyView.as_view()
password_reset_from_key_done = PasswordResetFromKeyDoneView.as_view()

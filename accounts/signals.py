"""Receivers that hand sign-in facts to `accounts.services` (no logic here)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver


@receiver(user_logged_in, dispatch_uid="pim_audit_sign_in")
def _signed_in(sender, request, user, **kwargs):
    from . import services

    method = "single sign-on" if getattr(user, "backend", "").endswith("socialaccount") else "password"
    if request is not None and getattr(request, "resolver_match", None) is not None:
        if "socialaccount" in (request.resolver_match.namespace or "") or "callback" in request.path:
            method = "single sign-on"
    services.auth_sign_in_record(user=user, method=method)


@receiver(user_login_failed, dispatch_uid="pim_audit_sign_in_failed")
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    from . import services

    login = credentials.get("username") or credentials.get("email") or credentials.get("login") or ""
    services.auth_sign_in_failed_record(login=str(login))

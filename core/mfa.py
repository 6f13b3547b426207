"""MFA freshness: when did this session last pass an MFA verification (step-up)?

Policies that require MFA ask for a verification within `PIM_MFA_FRESHNESS` (default 10 minutes);
having a device is not enough. The step-up view calls `mfa_mark_verified` after a successful OTP
check (and rotates the session key); services receive `mfa_verified_at(request)` as a plain datetime.
"""

from datetime import datetime

from django.utils import timezone

SESSION_KEY = "pim_mfa_verified_at"


def mfa_mark_verified(request) -> None:
    request.session.cycle_key()  # a fresh session id after step-up: a stolen pre-step-up cookie gains nothing
    request.session[SESSION_KEY] = timezone.now().isoformat()


def mfa_verified_at(request) -> datetime | None:
    value = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if timezone.is_aware(parsed) else None


def mfa_is_fresh(request) -> bool:
    from django.conf import settings

    at = mfa_verified_at(request)
    return at is not None and timezone.now() - at <= settings.PIM_MFA_FRESHNESS

"""Sending a person through the MFA step-up (`/account/verify/`) before a privileged administrative
change, and back to the form they were filling in.

The services decide (`assignments.rules.check_admin_mfa`); a page that gets the refusal calls
`step_up_redirect`, which keeps what was typed (without secrets) in the session for the page's next
GET (`step_up_restored`). The step-up rotates the session key, not its contents.
"""

from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils import timezone

from .mfa import mfa_verified_at

STASH_KEY = "pim_step_up_form"
# Never written to the session: credentials typed into a form are typed again.
SECRET_FIELDS = {"csrfmiddlewaretoken", "token", "new_token", "password", "secret"}


# What is kept for the way back: bounded (a form, not an upload), for one page, for a while.
STASH_MAX_BYTES = 16 * 1024
STASH_MAX_AGE_SECONDS = 15 * 60


def step_up_redirect(request, next_url: str | None = None, *, keep_form: bool = True,
                     message: str | None = None) -> HttpResponseRedirect:
    """To the step-up page and back to `next_url` (default: this page). With `keep_form`, the posted
    fields (secrets excepted) are kept in the session for that page's next GET, which shows the form
    filled in: the person checks it and submits it again (CSRF applies to that submission as to any)."""
    next_url = next_url or request.get_full_path()
    request.session.pop(STASH_KEY, None)
    kept_note = ""
    if keep_form and request.method == "POST":
        kept = QueryDict(mutable=True)
        for name, values in request.POST.lists():
            if name not in SECRET_FIELDS:
                kept.setlist(name, values)
        data = kept.urlencode()
        if len(data) <= STASH_MAX_BYTES:
            request.session[STASH_KEY] = {"path": next_url.split("?", 1)[0], "data": data,
                                          "at": timezone.now().isoformat()}
            kept_note = " Your form is kept: after verifying, check it and submit it again."
        else:
            kept_note = " The form was too large to keep: you will have to fill it in again."
    messages.info(request, (message or "This change needs a fresh multifactor verification.") + kept_note)
    return HttpResponseRedirect(f"{reverse('accounts:verify')}?{urlencode({'next': next_url})}")


def step_up_restored(request) -> QueryDict | None:
    """What was typed before the step-up, once, on a GET of the page it was typed on, within
    `STASH_MAX_AGE_SECONDS`; else None. A stash for another page stays for that page."""
    if request.method != "GET" or not hasattr(request, "session"):
        return None
    stash = request.session.get(STASH_KEY)
    if not isinstance(stash, dict) or stash.get("path") != request.path:
        return None
    del request.session[STASH_KEY]
    try:
        at = datetime.fromisoformat(stash.get("at", ""))
    except (TypeError, ValueError):
        return None
    if timezone.is_naive(at) or (timezone.now() - at).total_seconds() > STASH_MAX_AGE_SECONDS:
        return None
    data = stash.get("data", "")
    if not isinstance(data, str) or len(data) > STASH_MAX_BYTES:
        return None
    return QueryDict(data)


def admin_mfa_state(request) -> dict:
    """For the notice on administrative forms: does saving need a step-up first, and until when does the
    current verification count?"""
    user = getattr(request, "user", None)
    exempt = bool(getattr(user, "is_emergency_access", False))
    at: datetime | None = mfa_verified_at(request)
    window = settings.PIM_MFA_FRESHNESS
    fresh_until = at + window if at is not None else None
    return {
        "exempt": exempt,
        "fresh": fresh_until is not None and fresh_until >= timezone.now(),
        "fresh_until": fresh_until,
        "minutes": int(window.total_seconds() // 60),
        "verify_url": f"{reverse('accounts:verify')}?{urlencode({'next': request.get_full_path()})}",
    }

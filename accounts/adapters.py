"""The account adapter the portal runs: no public sign-up, the portal's sign-in rate limiting, and
allauth's own mail through the outbox.

allauth counts failed sign-ins per client address (`…/ip`) and per typed login (`…/key`). Two changes:
the address is the portal's own client address (`audit.middleware.client_ip_of`, which honours
PIM_TRUSTED_PROXIES), and the key is the account the typed string resolves to, so that failures as
`frank.dubois` also count against `Frank.Dubois@contoso.example`.
"""

import secrets

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import PermissionDenied
from django.db.models import Q

from assignments.models import User
from audit.middleware import client_ip_of
from notifications.models import OutboxMessage
from notifications.outbox import outbox_enqueue


def login_rate_limit_key(login: str) -> str:
    """One key per account (by username or email, in any case); a string that names no account (or more
    than one) is a key of its own."""
    login = login.strip().lower()
    if login:
        matches = list(User.objects.filter(Q(username__iexact=login) | Q(email__iexact=login))
                       .values_list("pk", flat=True)[:2])
        if len(matches) == 1:
            return f"account:{matches[0]}"
    return f"login:{login}"


class NoSignupAccountAdapter(DefaultAccountAdapter):
    """Accounts come from administrators (or SSO), never from a public sign-up form."""

    def is_open_for_signup(self, request):
        return False


class AccountAdapter(NoSignupAccountAdapter):
    def get_client_ip(self, request) -> str:
        ip = client_ip_of(request)
        if not ip:
            raise PermissionDenied("Unable to determine the client's address.")
        return ip

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Whatever allauth mails goes through the outbox (rendered now, delivered by the relay) with the
        portal's prefix. The password reset does not come here (accounts.services queues its own)."""
        message = self.render_mail(template_prefix, email, {"email": email, **context})
        html = next((content for content, mimetype in getattr(message, "alternatives", []) if mimetype == "text/html"),
                    None)
        # Someone is waiting for it (a confirmation or sign-in link): ahead of informational mail.
        outbox_enqueue(channel="email", dedupe_key=f"allauth:{template_prefix}:{email}:{secrets.token_hex(8)}",
                       payload={"to": email, "subject": message.subject, "text": message.body, "html": html},
                       priority=OutboxMessage.Priority.ACTIONABLE)

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # allauth's hook for the "login_failed" key (also cleared on password reset, through the same hook).
        login = credentials.get("email") or credentials.get("username") or ""
        return f"{get_current_site(request).domain}:{login_rate_limit_key(str(login))}"

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base import AuthProcess
from django.shortcuts import render

from accounts.services import auth_sso_refused_record
from assignments.models import User


def sso_email(sociallogin) -> tuple[str, bool]:
    """The email address the identity provider gave, and whether the provider says it verified it
    (allauth reads the `email_verified` claim: only `true` counts; a missing claim is not true)."""
    email = (getattr(sociallogin.user, "email", "") or "").strip()
    addresses = [address for address in sociallogin.email_addresses if address.email]
    if not email and addresses:
        email = addresses[0].email.strip()
    verified = any(address.verified and address.email.strip().lower() == email.lower() for address in addresses)
    return email, verified


class SSOAdapter(DefaultSocialAccountAdapter):
    """SSO signs in people the directory already knows, matched by an email address the identity
    provider has verified; it never creates accounts. Linking on an unverified address would hand an
    account to whoever can put that address on an account at the provider."""

    def is_open_for_signup(self, request, sociallogin):
        return False

    def pre_social_login(self, request, sociallogin):
        if sociallogin.is_existing:
            return  # linked before, on a verified address: the provider's subject id identifies the person
        email, verified = sso_email(sociallogin)
        if sociallogin.state.get("process") == AuthProcess.CONNECT:
            # "Connect" links the identity to whoever is signed in; it follows the same rule, so a
            # session that knows only a password cannot attach somebody else's identity to the account.
            current = request.user
            if not (verified and email and email.lower() == (current.email or "").lower()):
                self._refuse(request, sociallogin, user=current if current.is_authenticated else None, email=email,
                             why=f"the identity provider has not verified that this identity's email address "
                                 f"is the one of {current}, so it cannot be linked to that account")
            return
        user = User.objects.filter(email__iexact=email, is_active=True).first() if email else None
        if user is None:
            return  # nobody to link: sign-up is closed, so allauth refuses and creates nothing
        if not verified:
            self._refuse(request, sociallogin, user=user, email=email,
                         why=f"the identity provider has not verified the email address {email}, so it cannot "
                             "sign you in to the portal account with that address")
        sociallogin.connect(request, user)

    def _refuse(self, request, sociallogin, *, user, email: str, why: str):
        provider = getattr(sociallogin.account, "provider", "") or "the identity provider"
        auth_sso_refused_record(user=user, email=email, provider=provider, why=why)
        raise ImmediateHttpResponse(render(request, "account/sso_refused.html", {"why": why}, status=403))

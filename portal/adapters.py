from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base import AuthProcess
from django.shortcuts import render

from accounts.services import auth_sso_refused_record
from core.errors import DomainError
from directory.oidc import OidcPolicy, SignInRefused, oidc_claims, oidc_identity, oidc_sign_in


class SSOAdapter(DefaultSocialAccountAdapter):
    """Single sign-on: allauth runs the OpenID Connect flow (code with PKCE, ID token checked), and
    directory.oidc decides whom it signs in — the linked account, an existing one matched by a verified
    email address, or one created just in time when the provider's settings allow it — and brings the
    account's directory groups in step. Refusals are audited and shown with their reason."""

    def is_open_for_signup(self, request, sociallogin):
        return False  # accounts made at sign-in come from directory.oidc, never allauth's sign-up form

    def pre_social_login(self, request, sociallogin):
        provider = getattr(sociallogin, "provider", None) or sociallogin.account.get_provider(request)
        email = ""
        try:
            policy = OidcPolicy.from_app_settings(provider_id=provider.app.provider_id or provider.id,
                                                  name=provider.app.name, settings=provider.app.settings or {})
            identity = oidc_identity(policy=policy, claims=oidc_claims(sociallogin.account.extra_data or {}))
            email = identity.email
            if sociallogin.state.get("process") == AuthProcess.CONNECT:
                self._connect_check(request, identity=identity)
                return
            user, _ = oidc_sign_in(policy=policy, identity=identity,
                                   linked=sociallogin.user if sociallogin.is_existing else None)
        except SignInRefused as refusal:
            self._refuse(request, sociallogin, user=refusal.user, email=refusal.email or email, why=refusal.why)
        except DomainError as error:  # e.g. a group the claim names could not be created
            self._refuse(request, sociallogin, user=None, email=email, why=error.message.rstrip("."))
        if not sociallogin.is_existing:
            sociallogin.connect(request, user)

    def _connect_check(self, request, *, identity):
        """"Connect" links the identity to whoever is signed in; it follows the same rule, so a session
        that knows only a password cannot attach somebody else's identity to the account."""
        current = request.user
        if not (identity.email_verified and identity.email.lower() == (current.email or "").lower()):
            raise SignInRefused(f"the identity provider has not verified that this identity's email address is the "
                                f"one of {current}, so it cannot be linked to that account",
                                user=current if current.is_authenticated else None, email=identity.email)

    def _refuse(self, request, sociallogin, *, user, email: str, why: str):
        provider = getattr(sociallogin.account, "provider", "") or "the identity provider"
        auth_sso_refused_record(user=user, email=email, provider=provider, why=why)
        raise ImmediateHttpResponse(render(request, "account/sso_refused.html", {"why": why}, status=403))

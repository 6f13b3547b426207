from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter


class NoSignupAccountAdapter(DefaultAccountAdapter):
    """Accounts come from administrators (or SSO), never from a public sign-up form."""

    def is_open_for_signup(self, request):
        return False


class SSOAdapter(DefaultSocialAccountAdapter):
    """SSO signs in people the directory already knows (matched by verified email); it does not create them."""

    def is_open_for_signup(self, request, sociallogin):
        return False

    def pre_social_login(self, request, sociallogin):
        from assignments.models import User

        if sociallogin.is_existing:
            return
        email = (sociallogin.account.extra_data or {}).get("email") or getattr(sociallogin.user, "email", "")
        if email:
            user = User.objects.filter(email__iexact=email, is_active=True).first()
            if user is not None:
                sociallogin.connect(request, user)

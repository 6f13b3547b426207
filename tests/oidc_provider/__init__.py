"""A real OpenID provider for the single sign-on tests: django-oauth-toolkit's OIDC provider in a small
Django project of its own, run in a second process by `serve.py` (see tests/accounts/oidc_provider.py
for the fixture that starts it)."""

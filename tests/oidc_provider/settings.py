"""Settings of the test identity provider (a separate Django project, never the portal's).

Its directory is IDP_DIR (the fixture's temporary folder): its SQLite database, its signing key and
`people.json`, the people it knows and the claims it sends for them. IDP_ISSUER is its issuer URL.
"""

import os
import secrets
from pathlib import Path

IDP_DIR = Path(os.environ["IDP_DIR"])

SECRET_KEY = secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "tests.oidc_provider.urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
    "tests.oidc_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                                 "django.contrib.auth.context_processors.auth",
                                                 "django.contrib.messages.context_processors.messages"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(IDP_DIR / "idp.sqlite3")}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # test accounts only
LOGIN_URL = "/login/"
AUTHENTICATION_BACKENDS = ["tests.oidc_provider.backends.PeopleFileBackend"]
# The portal under test runs on the same host (another port), and cookies ignore ports: names of our own.
SESSION_COOKIE_NAME = "idp_sessionid"
CSRF_COOKIE_NAME = "idp_csrftoken"

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": os.environ["IDP_ISSUER"],
    "OIDC_RSA_PRIVATE_KEY": (IDP_DIR / "signing-key.pem").read_text(),
    "PKCE_REQUIRED": True,  # an authorisation request without an S256 code challenge is refused
    "OAUTH2_VALIDATOR_CLASS": "tests.oidc_provider.validator.PeopleClaimsValidator",
    "SCOPES": {"openid": "OpenID Connect", "profile": "Your name", "email": "Your email address",
               "groups": "Your groups"},
    "DEFAULT_SCOPES": ["openid"],
}

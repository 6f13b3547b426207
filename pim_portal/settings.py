"""One environment-driven settings file.

Defaults are the embedded ones (SQLite, a file-based Celery broker, email written to files), all under
`var/`, so `make run` works on a fresh machine. Production sets the environment variables documented
in the README; with DJANGO_DEBUG=0 the portal refuses to start on the development secret key.
"""

import hashlib
import hmac
import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PIM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    """Strict: anything but the usual spellings stops the start (a typo must not quietly mean false)."""
    value = os.environ.get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use 1/0, true/false, yes/no or on/off "
                               "(or leave it unset for the default).")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """Comma-separated networks or addresses ("10.0.0.0/8,192.0.2.7"), each checked at start-up."""
    networks = env_list(name)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {network!r} is not a network or an address "
                                       "(e.g. 10.0.0.0/8,192.0.2.7).") from None
    return networks


def env_trusted_proxies(name: str) -> int | list[str]:
    """A number of reverse-proxy hops ("1") or the networks the proxies live in ("10.0.0.0/8,192.0.2.7")."""
    value = os.environ.get(name, "").strip()
    if value.isascii() and value.isdigit():
        return int(value)
    return env_networks(name)


DEV_SECRET_KEY = "dev-insecure-pim-portal-key-change-me-in-production-0123456789"
DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
if not SECRET_KEY.strip():
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is empty: set a long random value, or unset it in development.")
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_DEBUG=0 needs DJANGO_SECRET_KEY: refusing to run on the development key.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# The absolute base URL used in emails and webhooks (links to approvals, roles, reviews).
SITE_URL = os.environ.get("PIM_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "portal.admin_config.PimAdminConfig",  # django.contrib.admin, read-only and gated by the access check
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # The portal's own apps, by capability.
    "audit",
    "assignments",
    "auditlog",
    "approvals",
    "accounts",
    "notifications",
    "provisioning",
    "governance",
    "reviews",
    "alerts",
    "directory",
    "connectors",
    "policy",
    "selfservice",
    "api",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "pim_portal.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "audit.middleware.AuditContextMiddleware",
    "portal.middleware.MethodNotAllowedPageMiddleware",
]

ROOT_URLCONF = "pim_portal.urls"
WSGI_APPLICATION = "pim_portal.wsgi.application"
ASGI_APPLICATION = "pim_portal.asgi.application"
AUTH_USER_MODEL = "assignments.User"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
            # `{{ value|when }}`: times in the viewer's zone with UTC on hover, on every page.
            "builtins": ["portal.templatetags.when"],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------
# The project's backends are Django's, plus the audit chain's commit-time append (audit/backends/).
AUDIT_CHAIN_ENGINES = {"django.db.backends.postgresql": "audit.backends.postgresql",
                       "django.db.backends.sqlite3": "audit.backends.sqlite3"}
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] not in AUDIT_CHAIN_ENGINES:
        raise ImproperlyConfigured(f"DATABASE_URL: the audit log needs PostgreSQL or SQLite, not "
                                   f"{DATABASES['default']['ENGINE']}.")
    DATABASES["default"]["ENGINE"] = AUDIT_CHAIN_ENGINES[DATABASES["default"]["ENGINE"]]
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # psycopg prepares only statements that ask for it (the access check does: planning is most of its
        # cost) once the threshold is not None; a threshold no statement reaches keeps automatic preparation
        # off for everything else. PgBouncer needs 1.21+ with max_prepared_statements set.
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1
else:
    DATABASES = {
        "default": {
            "ENGINE": "audit.backends.sqlite3",
            "NAME": VAR_DIR / "pim.sqlite3",
            # Wait for the writer instead of failing with "database is locked" (web + worker + beat).
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE",
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        }
    }
if os.environ.get("PIM_TEST_DB_NAME"):
    # Lets several test runs share one PostgreSQL server without clashing.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ["PIM_TEST_DB_NAME"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth: allauth local accounts, OpenID Connect SSO, django-otp ---------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
# Accounts are provisioned by administrators (or SSO), never by self sign-up.
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"  # portal's NoSignupAccountAdapter + sign-in rate limit keys
SOCIALACCOUNT_ADAPTER = "portal.adapters.SSOAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_RATE_LIMITS = {"login_failed": os.environ.get("PIM_LOGIN_RATE_LIMIT", "10/m/ip,5/5m/key"),
                       # Asking for a reset link: per client address, and per typed address whether or
                       # not an account has it (so the limit itself tells nothing).
                       "reset_password": "20/m/ip,3/15m/key"}
# allauth's own mails (none are sent today: see accounts.adapters) carry the portal's prefix too.
ACCOUNT_EMAIL_SUBJECT_PREFIX = "PIM: "
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # the portal never mails an address no account has
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_PROVIDERS = {}
PIM_SSO_CONFIGURED = bool(os.environ.get("OIDC_SERVER_URL"))
# Password reset by emailed link (accounts.services.password_reset_*): off by default when single sign-on
# is configured (passwords are then the identity provider's business), on otherwise.
PIM_PASSWORD_RESET = env_bool("PIM_PASSWORD_RESET", not PIM_SSO_CONFIGURED)
# How long a reset link works (Django's PASSWORD_RESET_TIMEOUT, in seconds; its default is three days).
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PIM_PASSWORD_RESET_MINUTES", "60")) * 60
if os.environ.get("OIDC_SERVER_URL"):
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": os.environ.get("OIDC_PROVIDER_ID", "sso"),
                "name": os.environ.get("OIDC_PROVIDER_NAME", "Single sign-on"),
                "client_id": os.environ.get("OIDC_CLIENT_ID", ""),
                "secret": os.environ.get("OIDC_CLIENT_SECRET", ""),
                "settings": {
                    "server_url": os.environ["OIDC_SERVER_URL"],
                    # Code flow with PKCE (S256); every provider the README covers supports it.
                    "oauth_pkce_enabled": env_bool("OIDC_PKCE", True),
                    "scope": os.environ.get("OIDC_SCOPES", "openid profile email").replace(",", " ").split(),
                    # directory.oidc.OidcPolicy: just-in-time accounts, groups from a claim.
                    "create_users": env_bool("OIDC_CREATE_USERS", False),
                    "create_users_domains": env_list("OIDC_CREATE_USERS_DOMAINS"),
                    "groups_claim": os.environ.get("OIDC_GROUPS_CLAIM", ""),
                    "create_groups": env_bool("OIDC_CREATE_GROUPS", False),
                    "email_verified_claim": os.environ.get("OIDC_EMAIL_VERIFIED_CLAIM", "email_verified"),
                },
            }
        ]
    }
OTP_TOTP_ISSUER = os.environ.get("PIM_OTP_ISSUER", "PIM portal")
# How recent an MFA verification must be for actions whose policy requires MFA.
PIM_MFA_FRESHNESS = timedelta(minutes=int(os.environ.get("PIM_MFA_FRESHNESS_MINUTES", "10")))
# How long an activation waits for a role's ticket endpoint (or an on-call roster URL) to answer.
PIM_TICKET_CHECK_TIMEOUT_SECONDS = float(os.environ.get("PIM_TICKET_CHECK_TIMEOUT_SECONDS", "5"))
# On-call rosters of auto-approval rules: fetched again (URL) and expanded again (recurrences) this often,
# with recurring shifts expanded this many days ahead.
PIM_ROSTER_REFRESH_MINUTES = int(os.environ.get("PIM_ROSTER_REFRESH_MINUTES", "60"))
PIM_ROSTER_HORIZON_DAYS = int(os.environ.get("PIM_ROSTER_HORIZON_DAYS", "92"))
# Administrators' patterns (justification, ticket) are matched with this time limit (the `regex` package).
PIM_PATTERN_MATCH_TIMEOUT_SECONDS = float(os.environ.get("PIM_PATTERN_MATCH_TIMEOUT_SECONDS", "0.25"))

# --- Client address: behind reverse proxies (or a NAT gateway that adds X-Forwarded-For), the number of
# proxy hops or the proxies' networks. The client is then the rightmost untrusted X-Forwarded-For hop, for
# sign-in rate limits, API throttles, trusted-network activation conditions and the audit log alike
# (audit.middleware.client_ip_of). Empty or 0: REMOTE_ADDR, and X-Forwarded-For is ignored.
PIM_TRUSTED_PROXIES = env_trusted_proxies("PIM_TRUSTED_PROXIES")

# --- Cache: rate limits and API throttles. Per process by default; point PIM_CACHE_URL at Redis in
# production so that every web worker counts the same sign-in failures and API calls.
PIM_CACHE_URL = os.environ.get("PIM_CACHE_URL", "")
# How many web worker processes serve the portal (gunicorn.conf.py reads the same variables): a deploy
# check warns when several run without a shared cache.
PIM_WEB_WORKERS = int(os.environ.get("PIM_WEB_WORKERS") or os.environ.get("WEB_CONCURRENCY") or 1)
if PIM_CACHE_URL:
    # While Redis is unreachable the counters fall back to per-process memory (logged once per outage).
    CACHES = {"default": {"BACKEND": "pim_portal.cache.FallbackRedisCache", "LOCATION": PIM_CACHE_URL}}

# --- Domain limits --------------------------------------------------------------------------------
PIM_MAX_ROLE_ASSIGNABLE_GROUPS = int(os.environ.get("PIM_MAX_ROLE_ASSIGNABLE_GROUPS", "500"))
# Webhook and SCIM targets on loopback / link-local addresses are refused unless this is on (development).
PIM_PROVISIONING_ALLOW_LOOPBACK = env_bool("PIM_PROVISIONING_ALLOW_LOOPBACK", False)
# Private networks webhook/SCIM targets may resolve to (an internal SCIM peer); others are refused at connect
# time, as are loopback, link-local and metadata addresses (provisioning.outbound).
PIM_PROVISIONING_ALLOWED_NETWORKS = env_networks("PIM_PROVISIONING_ALLOWED_NETWORKS")
# Worker processes that share an expiry backlog on PostgreSQL (assignments.tasks.assignments_expire
# queues this many minus one helpers when its first batch comes back full). At most the worker's
# --concurrency.
PIM_SWEEP_WORKERS = max(1, int(os.environ.get("PIM_SWEEP_WORKERS", "2")))
PIM_MIN_ASSIGNMENT_DURATION = timedelta(minutes=5)
PIM_EXTEND_WINDOW = timedelta(days=14)
# Minutes between reminders to approvers who have not decided a pending request (a stage may set its
# own cadence; 0: no reminders), and how often the beat job looks.
PIM_APPROVAL_REMINDER_MINUTES = int(os.environ.get("PIM_APPROVAL_REMINDER_MINUTES", "240"))
PIM_APPROVAL_REMINDER_EVERY_SECONDS = float(os.environ.get("PIM_APPROVAL_REMINDER_EVERY_SECONDS", "300"))
PIM_RENEW_WINDOW = timedelta(days=30)
# Audit checkpoints are signed with HMAC-SHA256 under this key. The default is derived from the secret key
# with its own salt; set it explicitly (and keep old keys in the fallbacks) so that rotating
# DJANGO_SECRET_KEY does not make earlier checkpoints unverifiable.
PIM_AUDIT_SIGNING_KEY_DERIVED = not os.environ.get("PIM_AUDIT_SIGNING_KEY")  # a deploy check warns about it
PIM_AUDIT_SIGNING_KEY = os.environ.get("PIM_AUDIT_SIGNING_KEY") or hmac.new(
    SECRET_KEY.encode(), b"pim-portal.audit.checkpoint-signing-key", hashlib.sha256).hexdigest()
PIM_AUDIT_SIGNING_KEY_FALLBACKS = env_list("PIM_AUDIT_SIGNING_KEY_FALLBACKS")
PIM_AUDIT_CHECKPOINT_MINUTES = int(os.environ.get("PIM_AUDIT_CHECKPOINT_MINUTES", "5"))
# The external witness of the audit log (audit/witness.py): every checkpoint, and the chain head at least
# every N events or M seconds while writes happen, also go to a sink outside the database:
# file:///path (JSON lines, fsync'd), syslog://host:port (UDP), syslog+tcp://host:port, syslog:///dev/log,
# or https://… (POST signed with PIM_AUDIT_WITNESS_SECRET). Empty: no witness (`check --deploy` warns).
PIM_AUDIT_WITNESS = os.environ.get("PIM_AUDIT_WITNESS", "").strip()
PIM_AUDIT_WITNESS_EVERY_EVENTS = int(os.environ.get("PIM_AUDIT_WITNESS_EVERY_EVENTS", "1000"))
PIM_AUDIT_WITNESS_EVERY_SECONDS = int(os.environ.get("PIM_AUDIT_WITNESS_EVERY_SECONDS", "60"))
PIM_AUDIT_WITNESS_SECRET = os.environ.get("PIM_AUDIT_WITNESS_SECRET", "")

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (self-hosted; no CDN) -----------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it before the first collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Email ----------------------------------------------------------------------------------------
EMAIL_SUBJECT_PREFIX = "PIM: "
# The portal's name in emails ("Contoso PIM").
PIM_SITE_NAME = os.environ.get("PIM_SITE_NAME", "PIM portal").strip() or "PIM portal"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "PIM portal <pim@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
# SMTP sessions a relay batch is spread over (the SMTP backend only), each sending its share in turn: a
# session spends most of its time waiting for the server's replies (four per email), so several at once
# keep the relay busy. 1: one session, as before.
PIM_EMAIL_SMTP_SESSIONS = int(os.environ.get("PIM_EMAIL_SMTP_SESSIONS", "4"))
if not 1 <= PIM_EMAIL_SMTP_SESSIONS <= 32:
    raise ImproperlyConfigured("PIM_EMAIL_SMTP_SESSIONS must be between 1 and 32.")

# --- Celery ---------------------------------------------------------------------------------------
# The embedded default is the portal's own transport over one SQLite file (pim_portal/broker.py):
# kombu's filesystem:// transport can hand a reader a half-written message file and loses a message
# whose worker dies before acknowledging it; this one does neither.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "pimsqlite://")
if CELERY_BROKER_URL.startswith("pimsqlite://"):
    (VAR_DIR / "broker").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "path": str(VAR_DIR / "broker" / "broker.sqlite3"),
        # Longer than a task may run (CELERY_TASK_TIME_LIMIT) plus its wait in the worker; a claimed
        # message of a consumer that died on this host comes back within seconds anyway.
        "visibility_timeout": 3600,
        "polling_interval": 0.2,
    }
elif CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("in", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "in"),
        "data_folder_out": str(_broker_dir / "in"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # else kombu writes ./control in the working directory
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The beat schedule is static: every periodic job of the portal is listed here.
CELERY_BEAT_SCHEDULE: dict = {
    # --- jobs: outbox relay, scheduled starts, expiry, request time-outs, reminders, digest (notifications) ---
    "outbox-relay": {"task": "notifications.tasks.outbox_relay", "schedule": 15.0},
    "requests-start-scheduled": {"task": "approvals.tasks.requests_start_scheduled", "schedule": 30.0},
    "assignments-expire": {"task": "assignments.tasks.assignments_expire", "schedule": 60.0},
    "requests-time-out": {"task": "approvals.tasks.requests_time_out", "schedule": 60.0},
    "requests-remind-approvers": {"task": "approvals.tasks.requests_remind_approvers",
                                  "schedule": PIM_APPROVAL_REMINDER_EVERY_SECONDS},
    "assignments-remind": {"task": "notifications.tasks.assignments_remind", "schedule": 3600.0},
    "weekly-digest": {"task": "notifications.tasks.weekly_digest",
                      "schedule": crontab(minute=0, hour=7, day_of_week="mon")},
    # --- audit: signed checkpoints (audit) ---
    "audit-checkpoint": {"task": "audit.tasks.audit_checkpoint",
                         "schedule": timedelta(minutes=PIM_AUDIT_CHECKPOINT_MINUTES)},
    "audit-witness": {"task": "audit.tasks.audit_witness",
                      "schedule": float(max(1, PIM_AUDIT_WITNESS_EVERY_SECONDS))},
    # --- access reviews (reviews) ---
    "reviews-start": {"task": "reviews.tasks.reviews_start", "schedule": 300.0},
    "reviews-complete": {"task": "reviews.tasks.reviews_complete", "schedule": 300.0},
    "reviews-remind": {"task": "reviews.tasks.reviews_remind", "schedule": 3600.0},
    "reviews-apply": {"task": "reviews.tasks.reviews_apply", "schedule": 120.0},
    # --- break-glass post-hoc reviews overdue: incident and email (selfservice) ---
    "break-glass-reviews-escalate": {"task": "selfservice.tasks.break_glass_reviews_escalate", "schedule": 300.0},
    # --- on-call rosters of auto-approval rules: fetched and expanded when due (selfservice) ---
    "auto-approval-rosters-refresh": {"task": "selfservice.tasks.auto_approval_rosters_refresh", "schedule": 300.0},
    # --- security alerts (alerts) ---
    "alerts-evaluate": {"task": "alerts.tasks.alerts_evaluate", "schedule": 3600.0},
    # --- connectors: read every target back and record drift (connectors) ---
    "connectors-reconcile": {"task": "connectors.tasks.connectors_reconcile_all", "schedule": 900.0},
    # --- LDAP / Active Directory sources: full and incremental runs when due (directory) ---
    "directory-ldap-sync": {"task": "directory.tasks.ldap_sync_due", "schedule": 60.0},
}

# --- REST API -------------------------------------------------------------------------------------
# Tokens (`Authorization: Bearer pim_…`) or the portal session; per-token throttles on writes and on
# the check endpoint (DRF rate syntax: "60/min", "1000/s"; counters in the default cache).
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.IsAuthenticatedPrincipal"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.WriteThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_write": os.environ.get("PIM_API_WRITE_RATE", "120/min"),
        "api_check": os.environ.get("PIM_API_CHECK_RATE", "6000/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's defaults, with a JSON parser that refuses absurd nesting (a 400, not a RecursionError).
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PIM portal API",
    "DESCRIPTION": "Privileged Identity Management: roles, scopes, principals, assignments, requests, approvals, "
    "audit and the access check. Authenticate with `Authorization: Bearer pim_<prefix>_<secret>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["api.permissions.ApiDocsPermission"],  # PIM_API_DOCS_PUBLIC
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AssignmentKindEnum": "assignments.models.Assignment.Kind",
        "PrincipalKindEnum": "assignments.models.Principal.Kind",
        "ScopeKindEnum": "assignments.models.Scope.Kind",
        "RoleKindEnum": "assignments.models.RoleDefinition.Kind",
        "TokenKindEnum": "api.models.ApiToken.Kind",
        "TokenPurposeEnum": "api.models.ApiToken.Purpose",
        "CreatableTokenPurposeEnum": "api.credentials.CREATABLE_PURPOSES",
        "ActionEnum": "assignments.models.Request.Action",
        "ExpirationEnum": "assignments.models.RoleSetting.EXPIRATION_CHOICES",
        "BreakGlassReviewOutcomeEnum": "selfservice.models.BreakGlassReview.Outcome",
        "BreakGlassReviewStatusEnum": "selfservice.models.BreakGlassReview.Status",
        "RequestStatusEnum": "assignments.models.Request.Status",
        "TargetStatusEnum": "connectors.models.Target.Status",
    },
}
# The API documentation (/api/v1/docs/) and schema (/api/v1/schema/) need a signed-in person or a token
# unless this is on: the schema names every operation and parameter, which is a map for an attacker too.
PIM_API_DOCS_PUBLIC = env_bool("PIM_API_DOCS_PUBLIC", False)
# API token lifetimes: the default when none is given, and the longest allowed.
PIM_API_TOKEN_DEFAULT_DAYS = int(os.environ.get("PIM_API_TOKEN_DEFAULT_DAYS", "90"))
PIM_API_TOKEN_MAX_DAYS = int(os.environ.get("PIM_API_TOKEN_MAX_DAYS", "365"))
# Administrative API tokens (created right after an MFA step-up, for privileged administrative
# changes) live this long: short, because the token stands for that verification. At most 8 hours.
PIM_API_ADMIN_TOKEN_MINUTES = int(os.environ.get("PIM_API_ADMIN_TOKEN_MINUTES", "60"))
if not 5 < PIM_API_ADMIN_TOKEN_MINUTES <= 8 * 60:
    raise ImproperlyConfigured("PIM_API_ADMIN_TOKEN_MINUTES must be more than 5 and at most 480 (8 hours).")

# --- Security -------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("PIM_SESSION_AGE_SECONDS", str(8 * 3600)))
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Every asset is served from this server (no CDN) and no template has inline script, event-handler
# attributes or inline styles, so the policy is 'self' throughout; data: images are Swagger UI's icons.
# No form-action: the SSO button posts here and is redirected to the identity provider, which Chromium
# would check against form-action.
PIM_CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'none'")
# No page uses the camera, microphone, location, sensors, payment or USB.
PIM_PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
                          "microphone=(), payment=(), usb=()")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    # Off only for plain HTTP on loopback (the run command): a browser keeps no Secure cookie there.
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PIM_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Operations: metrics, probes, heartbeats, structured logs, the audit stream to SIEMs (operations/) ---
INSTALLED_APPS.append("operations")
# First, so that a request's measured time covers the whole stack.
MIDDLEWARE.insert(0, "operations.metrics.RequestMetricsMiddleware")
# Probes from a load balancer or an orchestrator often speak plain HTTP to the pod.
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz)$"]
# /metrics: a scraper sending `Authorization: Bearer <PIM_METRICS_TOKEN>`, or from these networks.
PIM_METRICS_TOKEN = os.environ.get("PIM_METRICS_TOKEN", "")
PIM_METRICS_ALLOWED_NETWORKS = env_networks("PIM_METRICS_ALLOWED_NETWORKS") if os.environ.get(
    "PIM_METRICS_ALLOWED_NETWORKS") is not None else ["127.0.0.0/8", "::1/128"]
# The heartbeat job (beat → worker) and how old its beats may be for /readyz to answer ready.
PIM_HEARTBEAT_SECONDS = max(1, int(os.environ.get("PIM_HEARTBEAT_SECONDS", "10")))
PIM_READY_WORKER_SECONDS = int(os.environ.get("PIM_READY_WORKER_SECONDS", "60"))
PIM_READY_BEAT_LAG_SECONDS = int(os.environ.get("PIM_READY_BEAT_LAG_SECONDS", "60"))
CELERY_BEAT_SCHEDULE["heartbeat"] = {"task": "operations.tasks.heartbeat", "schedule": float(PIM_HEARTBEAT_SECONDS)}
# Structured logs: PIM_LOG_FORMAT=json writes one JSON object a line, with the request's correlation id.
PIM_LOG_FORMAT = os.environ.get("PIM_LOG_FORMAT", "text").strip().lower()
if PIM_LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"PIM_LOG_FORMAT={PIM_LOG_FORMAT!r}: use text or json.")
if PIM_LOG_FORMAT == "json":
    LOGGING["formatters"] = {"json": {"()": "operations.jsonlog.JsonFormatter"}}
    LOGGING["handlers"]["console"]["formatter"] = "json"
    # The worker keeps Django's logging (and so this format) instead of installing its own handlers.
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The audit stream to SIEMs (operations/siem.py): "name=url" pairs, comma-separated, each a consumer with its
# own cursor: syslog+tls://host:6514[?batch=N] (RFC 5424 over TLS, octet-counted) or https://… (JSON lines).
PIM_SIEM_STREAMS: dict[str, str] = {}
for _entry in env_list("PIM_SIEM_STREAMS"):
    _name, _, _url = _entry.partition("=")
    if not _name.strip() or not _url.strip() or not _name.strip().replace("-", "").replace("_", "").isalnum():
        raise ImproperlyConfigured(f"PIM_SIEM_STREAMS: {_entry!r} is not name=url (e.g. soc=syslog+tls://siem:6514).")
    if _name.strip() in PIM_SIEM_STREAMS:
        raise ImproperlyConfigured(f"PIM_SIEM_STREAMS names {_name.strip()!r} twice.")
    PIM_SIEM_STREAMS[_name.strip()[:64]] = _url.strip()
PIM_SIEM_CA_FILE = os.environ.get("PIM_SIEM_CA_FILE", "")  # trust for syslog+tls (default: the system's CAs)
PIM_SIEM_CLIENT_CERT = os.environ.get("PIM_SIEM_CLIENT_CERT", "")  # optional client certificate (mutual TLS)
PIM_SIEM_CLIENT_KEY = os.environ.get("PIM_SIEM_CLIENT_KEY", "")
PIM_SIEM_HTTP_SECRET = os.environ.get("PIM_SIEM_HTTP_SECRET", "")  # HMAC key signing the POSTs of HTTP streams
PIM_SIEM_STREAM_EVERY_SECONDS = max(1, int(os.environ.get("PIM_SIEM_STREAM_EVERY_SECONDS", "5")))
if PIM_SIEM_STREAMS:
    CELERY_BEAT_SCHEDULE["siem-stream"] = {"task": "operations.tasks.siem_stream",
                                           "schedule": float(PIM_SIEM_STREAM_EVERY_SECONDS)}
# `pim login` (device-code sign-in of the command line, api/): how long a code waits for its approval in the
# browser, and how long the token it gives lives.
PIM_DEVICE_CODE_MINUTES = int(os.environ.get("PIM_DEVICE_CODE_MINUTES", "10"))
PIM_CLI_TOKEN_HOURS = int(os.environ.get("PIM_CLI_TOKEN_HOURS", "12"))
PIM_DEVICE_POLL_SECONDS = max(1, min(60, int(os.environ.get("PIM_DEVICE_POLL_SECONDS", "5"))))  # RFC 8628 interval
if not 1 <= PIM_CLI_TOKEN_HOURS <= 24 * 7:
    raise ImproperlyConfigured("PIM_CLI_TOKEN_HOURS must be from 1 to 168 (a week).")

from django.contrib import admin
from django.urls import include, path, re_path

from accounts import views as accounts_views
from accounts.views import email_managed_by_the_directory

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before allauth's own page of that name: users do not change their address themselves.
    path("accounts/email/", email_managed_by_the_directory, name="account_email"),
    # Before allauth's own pages of these names and paths: the reset flow switched by PIM_PASSWORD_RESET,
    # its email through the outbox, request and completion audited (accounts.views).
    path("accounts/password/reset/", accounts_views.password_reset, name="account_reset_password"),
    path("accounts/password/reset/done/", accounts_views.password_reset_done, name="account_reset_password_done"),
    re_path(r"^accounts/password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
            accounts_views.password_reset_from_key, name="account_reset_password_from_key"),
    path("accounts/password/reset/key/done/", accounts_views.password_reset_from_key_done,
         name="account_reset_password_from_key_done"),
    # Before allauth's own sign-in: a refused submission answers 400 with the shared error summary.
    path("accounts/login/", accounts_views.login, name="account_login"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("requests/", include("approvals.urls")),
    path("manage/", include("assignments.urls")),
    path("manage/directory/", include("directory.urls")),  # users, scopes, roles, bulk import (by hand)
    path("audit/", include("auditlog.urls")),
    path("notifications/", include("notifications.urls")),
    path("provisioning/", include("provisioning.urls")),
    path("connectors/", include("connectors.urls")),
    path("policy/", include("policy.urls")),
    path("request-rules/", include("selfservice.urls")),  # justification / ticket rules, auto-approval, break-glass
    path("reviews/", include("reviews.urls")),
    path("alerts/", include("alerts.urls")),
    path("governance/", include("governance.urls")),  # what-if, separation of duties, right-sizing
    path("directory-sources/", include("directory.ldap_urls")),
    path("api/v1/", include("api.urls")),
    path("scim/v2/", include("directory.scim.urls")),  # SCIM 2.0 service provider (bearer tokens, no session)
    path("directory/scim/", include("directory.scim.page_urls")),
    path("", include("operations.urls")),  # /healthz, /readyz, /metrics
    path("", include("portal.urls")),
]

handler400 = "portal.views.error_400"
handler403 = "portal.views.error_403"
handler404 = "portal.views.error_404"
handler500 = "portal.views.error_500"

from django.contrib import admin
from django.urls import include, path

from accounts.views import email_managed_by_the_directory

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before allauth's own page of that name: users do not change their address themselves.
    path("accounts/email/", email_managed_by_the_directory, name="account_email"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("requests/", include("approvals.urls")),
    path("manage/", include("assignments.urls")),
    path("audit/", include("auditlog.urls")),
    path("notifications/", include("notifications.urls")),
    path("provisioning/", include("provisioning.urls")),
    path("reviews/", include("reviews.urls")),
    path("alerts/", include("alerts.urls")),
    path("api/v1/", include("api.urls")),
    path("", include("portal.urls")),
]

handler400 = "portal.views.error_400"
handler403 = "portal.views.error_403"
handler404 = "portal.views.error_404"
handler500 = "portal.views.error_500"

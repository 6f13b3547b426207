from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("security/", views.security, name="security"),
    path("mfa/totp/", views.totp_enrol, name="totp_enrol"),
    path("mfa/backup-codes/", views.backup_codes, name="backup_codes"),
    path("verify/", views.verify, name="verify"),
]

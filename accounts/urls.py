from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("security/", views.security, name="security"),
    path("time-zone/", views.time_zone, name="time_zone"),
    path("mfa/totp/", views.totp_enrol, name="totp_enrol"),
    path("mfa/enrolment-code/", views.enrolment_code_email, name="enrolment_code_email"),
    path("users/<int:user_pk>/enrolment-code/", views.enrolment_code_issue, name="enrolment_code_issue"),
    path("mfa/backup-codes/", views.backup_codes, name="backup_codes"),
    path("verify/", views.verify, name="verify"),
]

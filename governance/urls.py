from django.urls import path

from . import views

app_name = "governance"
urlpatterns = [
    path("what-if/", views.whatif, name="whatif"),
    path("separation-of-duties/", views.separation_of_duties, name="separation"),
    path("separation-of-duties/<int:pk>/delete/", views.conflict_set_delete, name="conflict_set_delete"),
    path("separation-of-duties/exceptions/", views.exception_grant, name="exception_grant"),
    path("separation-of-duties/exceptions/<int:pk>/revoke/", views.exception_revoke, name="exception_revoke"),
    path("right-sizing/", views.rightsizing_list, name="rightsizing"),
    path("right-sizing/apply/", views.rightsizing_apply, name="rightsizing_apply"),
    path("right-sizing/settings/", views.rightsizing_settings, name="rightsizing_settings"),
]

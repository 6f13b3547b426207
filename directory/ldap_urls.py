from django.urls import path

from . import ldap_views as views

app_name = "ldap_sources"
urlpatterns = [
    path("", views.source_list, name="list"),
    path("new/", views.source_create, name="create"),
    path("<int:pk>/", views.source_detail, name="detail"),
    path("<int:pk>/test/", views.source_test, name="test"),
    path("<int:pk>/run/", views.source_run, name="run_now"),
    path("<int:pk>/import/", views.source_import, name="import"),
    path("<int:pk>/runs/", views.source_runs, name="runs"),
    path("<int:pk>/delete/", views.source_delete, name="delete"),
    path("<int:pk>/runs/<int:run_id>/", views.run_detail, name="run"),
]

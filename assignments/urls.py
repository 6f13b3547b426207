from django.urls import path

from . import views

app_name = "assignments"
urlpatterns = [
    path("assignments/", views.assignment_list, name="list"),
    path("assignments/new/", views.assignment_create, name="assign"),
    path("assignments/<int:pk>/", views.assignment_detail, name="detail"),
    path("assignments/<int:pk>/update/", views.assignment_update, name="update"),
    path("assignments/<int:pk>/extend/", views.assignment_extend, name="extend"),
    path("assignments/<int:pk>/renew/", views.assignment_renew, name="renew"),
    path("assignments/<int:pk>/make-active/", views.assignment_make_active, name="make_active"),
    path("assignments/<int:pk>/remove/", views.assignment_remove, name="remove"),
    path("assignments/make-active/", views.assignment_make_active_bulk, name="make_active_bulk"),
    path("search/principals.json", views.principal_search, name="principal_search"),
    path("search/scopes.json", views.scope_search, name="scope_search"),
    path("role-settings/", views.role_settings, name="role_settings"),
    path("role-settings/open/", views.role_setting_open, name="role_setting_open"),
    path("role-settings/<int:role_pk>/", views.role_setting_edit, name="role_setting"),
    path("role-settings/<int:role_pk>/stages/", views.role_setting_stages, name="role_setting_stages"),
    path("directory/", views.principal_list, name="principals"),
    path("directory/<int:pk>/", views.principal_detail, name="principal"),
    path("directory/groups/new/", views.group_create, name="group_create"),
    path("directory/service-principals/new/", views.service_principal_create, name="service_principal_create"),
    path("elevate/", views.elevate, name="elevate"),
]

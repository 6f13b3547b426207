from django.urls import path

from . import views

app_name = "directory"
urlpatterns = [
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/edit/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/offboard/", views.user_offboard, name="user_offboard"),
    path("users/<int:pk>/enable/", views.user_enable, name="user_enable"),
    path("scopes/", views.scope_list, name="scopes"),
    path("scopes/new/", views.scope_create, name="scope_create"),
    path("scopes/<int:pk>/", views.scope_detail, name="scope"),
    path("scopes/<int:pk>/rename/", views.scope_rename, name="scope_rename"),
    path("scopes/<int:pk>/move/", views.scope_move, name="scope_move"),
    path("scopes/<int:pk>/delete/", views.scope_delete, name="scope_delete"),
    path("roles/", views.role_list, name="roles"),
    path("roles/new/", views.role_create, name="role_create"),
    path("roles/<int:pk>/", views.role_detail, name="role"),
    path("roles/<int:pk>/delete/", views.role_delete, name="role_delete"),
    path("import/", views.import_upload, name="import"),
    path("import/<uuid:pk>/", views.import_preview, name="import_preview"),
    path("export/", views.export, name="export"),
]

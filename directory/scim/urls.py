"""`/scim/v2/…` (RFC 7644 §3.2). A trailing slash is accepted: some clients add one."""

from django.urls import re_path

from . import views

app_name = "scim"
urlpatterns = [
    re_path(r"^ServiceProviderConfig/?$", views.service_provider_config_view, name="service_provider_config"),
    re_path(r"^ResourceTypes/?$", views.resource_types_view, name="resource_types"),
    re_path(r"^ResourceTypes/(?P<name>[^/]+)/?$", views.resource_types_view, name="resource_type"),
    re_path(r"^Schemas/?$", views.schemas_view, name="schemas"),
    re_path(r"^Schemas/(?P<schema_id>[^/]+)/?$", views.schemas_view, name="schema"),
    re_path(r"^Users/?$", views.users_view, name="users"),
    re_path(r"^Users/\.search/?$", views.search_view, {"resource": "User"}, name="users_search"),
    re_path(r"^Users/(?P<resource_id>[^/]+)/?$", views.user_view, name="user"),
    re_path(r"^Groups/?$", views.groups_view, name="groups"),
    re_path(r"^Groups/\.search/?$", views.search_view, {"resource": "Group"}, name="groups_search"),
    re_path(r"^Groups/(?P<resource_id>[^/]+)/?$", views.group_view, name="group"),
    re_path(r"^\.search/?$", views.root_search_view, name="search"),
    re_path(r"^(?P<rest>.*)$", views.not_found_view, name="not_found"),
]

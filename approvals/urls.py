from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "approvals"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="approvals:my_requests", permanent=False)),
    path("mine/", views.my_requests, name="my_requests"),
    path("roles/", views.my_roles, name="my_roles"),
    path("roles/<int:assignment_id>/activate/", views.activate, name="activate"),
    path("roles/<int:assignment_id>/deactivate/", views.deactivate, name="deactivate"),
    path("roles/<int:assignment_id>/extend/", views.extend, name="extend"),
    path("roles/<int:assignment_id>/renew/", views.renew, name="renew"),
    path("approvals/", views.queue, name="queue"),
    path("approvals/approve/", views.approve_bulk, name="approve_bulk"),
    path("delegation/", views.delegation, name="delegation"),
    path("<uuid:request_id>/", views.request_detail, name="request_detail"),
    path("<uuid:request_id>/cancel/", views.cancel, name="cancel"),
    path("<uuid:request_id>/approve/", views.approve, name="approve"),
    path("<uuid:request_id>/deny/", views.deny, name="deny"),
]

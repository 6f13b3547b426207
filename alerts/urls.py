from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "alerts"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="alerts:dashboard", permanent=False), name="index"),
    path("dashboard/", views.dashboard, name="dashboard"),
    # Everything of "Security alerts" lives under security/, so the menu highlights one entry.
    path("security/", views.alert_list, name="list"),
    path("security/run/", views.run_all, name="run_all"),
    path("security/a/<slug:key>/", views.alert_detail, name="detail"),
    path("security/a/<slug:key>/run/", views.run_one, name="run"),
    path("security/incidents/", views.incident_list, name="incidents"),
    path("security/incidents/<int:pk>/", views.incident_detail, name="incident"),
    path("security/incidents/<int:pk>/<slug:action>/", views.incident_action, name="incident_action"),
    path("security/emergency-access/", views.emergency_access, name="emergency"),
    path("discovery/", views.discovery, name="discovery"),
    path("discovery/convert/", views.discovery_convert, name="convert"),
]

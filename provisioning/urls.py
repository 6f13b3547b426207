"""The former Integrations pages moved to the connectors' pages: old links land there."""

from django.urls import path, reverse_lazy
from django.views.generic import RedirectView

app_name = "provisioning"
urlpatterns = [
    path("", RedirectView.as_view(url=reverse_lazy("connectors:index"))),
    path("webhooks/new/", RedirectView.as_view(url=reverse_lazy("connectors:target_create", args=["webhook"]))),
    path("webhooks/<path:rest>", RedirectView.as_view(url=reverse_lazy("connectors:index"))),
]

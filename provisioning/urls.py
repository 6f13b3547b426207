from django.urls import path

from . import views

app_name = "provisioning"
urlpatterns = [
    path("", views.index, name="index"),
    path("webhooks/new/", views.webhook_create, name="webhook_create"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/rotate-secret/", views.webhook_rotate_secret, name="webhook_rotate_secret"),
    path("webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path("webhooks/<int:pk>/deliveries/<uuid:delivery_id>/retry/", views.webhook_delivery_retry,
         name="webhook_delivery_retry"),
]

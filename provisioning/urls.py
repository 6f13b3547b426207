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
    path("scim/new/", views.scim_create, name="scim_create"),
    path("scim/<int:pk>/", views.scim_detail, name="scim_detail"),
    path("scim/<int:pk>/check/", views.scim_check, name="scim_check"),
    path("scim/<int:pk>/delete/", views.scim_delete, name="scim_delete"),
    path("scim/<int:pk>/operations/<int:operation_id>/retry/", views.scim_operation_retry,
         name="scim_operation_retry"),
]

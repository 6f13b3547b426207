from django.urls import path

from . import views

app_name = "connectors"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/<slug:kind>/", views.target_create, name="target_create"),
    path("<int:pk>/", views.target_detail, name="target"),
    path("<int:pk>/test/", views.target_test, name="target_test"),
    path("<int:pk>/reconcile/", views.target_reconcile, name="target_reconcile"),
    path("<int:pk>/delete/", views.target_delete, name="target_delete"),
    path("<int:pk>/rotate-secret/", views.target_rotate_secret, name="target_rotate_secret"),
    path("<int:pk>/mappings/", views.mapping_create, name="mapping_create"),
    path("<int:pk>/mappings/<int:mapping_id>/", views.mapping_update, name="mapping_update"),
    path("<int:pk>/mappings/<int:mapping_id>/delete/", views.mapping_delete, name="mapping_delete"),
    path("<int:pk>/effects/<int:effect_id>/retry/", views.effect_retry, name="effect_retry"),
    path("<int:pk>/drift/<int:drift_id>/<slug:fix>/", views.drift_fix, name="drift_fix"),
]

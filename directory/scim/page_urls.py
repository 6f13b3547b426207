from django.urls import path

from . import pages

app_name = "directory_scim"
urlpatterns = [
    path("", pages.client_list, name="client_list"),
    path("<int:pk>/", pages.client_detail, name="client_detail"),
    path("<int:pk>/tokens/<int:token_id>/revoke/", pages.token_revoke, name="token_revoke"),
]

from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("", views.event_list, name="list"),
    path("export.csv", views.event_export, name="export"),
    path("mine/", views.my_event_list, name="mine"),
    path("mine/export.csv", views.my_event_export, name="mine_export"),
    path("events/<int:seq>/", views.event_detail, name="detail"),
]

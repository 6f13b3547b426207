from django.urls import path

from . import views

app_name = "policy"
urlpatterns = [
    path("", views.index, name="index"),
    path("history/", views.history, name="history"),
    path("history/rollback/", views.rollback, name="rollback"),
    path("dual-control/", views.dual_control, name="dual_control"),
    path("propose/", views.propose, name="propose"),
    path("proposals/<int:pk>/", views.proposal_detail, name="proposal"),
    path("proposals/<int:pk>/<slug:decision>/", views.proposal_decide, name="proposal_decide"),
    path("export.yaml", views.export, name="export"),
    path("import/", views.import_document, name="import"),
]

from django.urls import path

from . import views

app_name = "selfservice"

urlpatterns = [
    path("settings/<int:setting_id>/", views.request_rules_page, name="rules"),
    path("settings/<int:setting_id>/auto-approval/", views.auto_rule_create_page, name="auto_rule_create"),
    path("auto-approval/<int:rule_id>/", views.auto_rule_page, name="auto_rule"),
    path("break-glass/<int:eligible_id>/", views.break_glass_page, name="break_glass"),
    path("break-glass-reviews/", views.review_list_page, name="reviews"),
    path("break-glass-reviews/<int:review_id>/", views.review_page, name="review"),
    path("catalogue/", views.catalogue_page, name="catalogue"),
    path("batches/<uuid:batch_id>/", views.batch_page, name="batch"),
    path("batches/<uuid:batch_id>/<uuid:request_id>/decide/", views.batch_decide, name="batch_decide"),
]

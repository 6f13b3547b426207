from django.urls import path

from . import views

app_name = "reviews"
urlpatterns = [
    path("", views.review_list, name="list"),
    path("new/", views.review_create, name="create"),
    path("<int:pk>/", views.review_detail, name="detail"),
    path("instances/<int:pk>/", views.instance_detail, name="instance"),
    path("instances/<int:pk>/complete/", views.instance_complete, name="instance_complete"),
    path("instances/<int:pk>/apply/", views.instance_apply, name="instance_apply"),
    path("instances/<int:pk>/results.csv", views.instance_results_csv, name="instance_csv"),
    path("mine/", views.my_reviews, name="mine"),
    path("mine/<int:pk>/", views.my_review, name="mine_instance"),
]

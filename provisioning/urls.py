app_name = "provisioning"
urlpatterns: list = []

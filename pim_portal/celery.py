import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")

app = Celery("pim_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

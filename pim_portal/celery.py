import os

from celery import Celery

from . import broker  # noqa: F401  registers the embedded transport, pimsqlite://

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")

app = Celery("pim_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

"""The beat schedule evaluates every alert; the task calls the service and is safe to repeat."""

from django.conf import settings

from alerts.definitions import CATALOGUE
from alerts.models import AlertRun, Incident
from alerts.tasks import alerts_evaluate

EVALUATED = sum(1 for d in CATALOGUE if not d.event_based and d.evaluate is not None)


def test_the_schedule_names_the_task():
    entry = settings.CELERY_BEAT_SCHEDULE["alerts-evaluate"]
    assert entry["task"] == "alerts.tasks.alerts_evaluate" and entry["schedule"] <= 3600


def test_the_task_evaluates_and_repeating_it_changes_nothing(directory, global_admin):
    first = alerts_evaluate.apply().get()
    assert first["too_many_global_admins"]["opened"] == 1
    second = alerts_evaluate.apply().get()
    assert second["too_many_global_admins"] == {"findings": 1, "opened": 0, "cleared": 0}
    assert Incident.objects.filter(alert_key="too_many_global_admins").count() == 1
    assert AlertRun.objects.filter(trigger="schedule").count() == 2 * EVALUATED  # every evaluated alert

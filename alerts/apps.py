from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        from celery.signals import beat_init
        from django.contrib.auth.signals import user_logged_in

        from .services import alert_emergency_sign_in_receiver
        from .tasks import alerts_evaluate_at_start_up

        # Every sign-in by an emergency access account raises a high-severity incident at once.
        user_logged_in.connect(alert_emergency_sign_in_receiver, dispatch_uid="alerts.emergency_sign_in")
        # One evaluation when the beat starts, then the beat's schedule. Celery sends beat_init for a
        # standalone beat and for one embedded in a worker (which also gets beat_embedded_init).
        beat_init.connect(alerts_evaluate_at_start_up, dispatch_uid="alerts.evaluate_at_start_up")

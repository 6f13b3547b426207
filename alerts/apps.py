from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .services import alert_emergency_sign_in_receiver

        # Every sign-in by an emergency access account raises a high-severity incident at once.
        user_logged_in.connect(alert_emergency_sign_in_receiver, dispatch_uid="alerts.emergency_sign_in")

"""Every sign-in by an emergency access account raises a high-severity incident at once (from the
`user_logged_in` signal) and emails the directory administrators; other sign-ins raise nothing; a
failure of the alert never blocks a sign-in."""

from alerts.models import Incident
from core.actors import Actor

ALERTS_JOB = Actor.system("alerts-evaluate")


def _breakglass(directory):
    from assignments.models import User

    user = User.objects.get(username="breakglass1")
    user.set_password("break-glass-password-1")
    user.save()
    return user


def test_each_emergency_sign_in_is_an_incident_with_an_email(directory, global_admin, client, outbox):
    user = _breakglass(directory)
    assert client.login(username="breakglass1", password="break-glass-password-1")
    [incident] = Incident.objects.filter(alert_key="emergency_access_sign_in")
    assert (incident.severity, incident.status, incident.principal) == ("high", "open", user.principal)
    recipients = {m["to"] for m in outbox()}
    assert "gadmin@example.com" in recipients
    assert any("breakglass1 signed in" in m["subject"] for m in outbox())
    client.logout()
    assert client.login(username="breakglass1", password="break-glass-password-1")
    assert Incident.objects.filter(alert_key="emergency_access_sign_in").count() == 2


def test_the_sign_in_through_the_login_form_raises_it_too(directory, client):
    _breakglass(directory)
    response = client.post("/accounts/login/", {"login": "breakglass1", "password": "break-glass-password-1"})
    assert response.status_code == 302
    assert Incident.objects.filter(alert_key="emergency_access_sign_in", status="open").count() == 1


def test_ordinary_sign_ins_raise_nothing(directory, client):
    directory.user("eve")
    assert client.login(username="eve", password="pw-for-tests-123")
    assert not Incident.objects.exists()


def test_an_evaluation_never_clears_a_sign_in_incident(directory, client, evaluate):
    from alerts.services import alerts_evaluate_all

    _breakglass(directory)
    client.login(username="breakglass1", password="break-glass-password-1")
    alerts_evaluate_all(actor=ALERTS_JOB)
    assert Incident.objects.get(alert_key="emergency_access_sign_in").status == "open"


def test_a_failing_alert_does_not_block_the_sign_in(directory, client, monkeypatch):
    from alerts import services

    def broken(**kwargs):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(services, "alert_emergency_sign_in", broken)
    _breakglass(directory)
    assert client.login(username="breakglass1", password="break-glass-password-1")
    assert client.get("/").status_code == 200


def test_turning_the_alert_off_is_respected(directory, client):
    from alerts.models import AlertSetting

    AlertSetting.objects.create(key="emergency_access_sign_in", enabled=False)
    _breakglass(directory)
    assert client.login(username="breakglass1", password="break-glass-password-1")
    assert not Incident.objects.exists()

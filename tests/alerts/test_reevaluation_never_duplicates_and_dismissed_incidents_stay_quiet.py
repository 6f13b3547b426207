"""A re-evaluation refreshes the open incident instead of opening another; a dismissed incident
raises nothing new while its condition holds; a resolved one that is not really fixed comes back."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.models import Incident

KEY = "too_many_global_admins"


def test_evaluating_twice_keeps_one_incident(directory, global_admin, evaluate, open_incidents):
    assert evaluate(KEY).opened == 1
    again = evaluate(KEY)
    assert (again.findings, again.opened, again.cleared) == (1, 0, 0)
    assert len(open_incidents(KEY)) == 1


def test_the_database_refuses_a_second_current_incident_for_the_same_subject(directory, global_admin, evaluate):
    evaluate(KEY)
    incident = Incident.objects.get(alert_key=KEY)
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(alert_key=KEY, subject_key=incident.subject_key, severity="low", title="dup",
                                first_seen_at=now, last_seen_at=now)


def test_dismissed_stays_quiet_until_the_condition_clears(directory, global_admin, role_admin, evaluate,
                                                          open_incidents):
    from alerts.services import incident_dismiss

    evaluate(KEY)
    [incident] = open_incidents(KEY)
    incident_dismiss(actor=role_admin, incident=incident, reason="Accepted: three admins during the migration")
    assert evaluate(KEY).opened == 0
    assert open_incidents(KEY) == []
    incident.refresh_from_db()
    assert (incident.status, incident.is_current, incident.closed_by) == ("dismissed", True, role_admin)


def test_resolved_but_not_fixed_opens_again(directory, global_admin, role_admin, evaluate, open_incidents):
    from alerts.services import incident_resolve
    from audit.models import AuditEvent

    evaluate(KEY)
    [incident] = open_incidents(KEY)
    incident_resolve(actor=role_admin, incident=incident, reason="I think it is fixed")
    assert AuditEvent.objects.filter(action="alert.incident_resolve", actor_id=role_admin.pk,
                                     justification="I think it is fixed").exists()
    assert evaluate(KEY).opened == 1
    assert [i.pk for i in open_incidents(KEY)] != [incident.pk]


def test_resolve_and_dismiss_need_a_reason_an_alert_manager_and_an_open_incident(directory, global_admin, role_admin,
                                                                                 evaluate, open_incidents):
    from alerts.services import incident_dismiss, incident_resolve
    from core.errors import DomainError

    evaluate(KEY)
    [incident] = open_incidents(KEY)
    with pytest.raises(DomainError, match="Say why"):
        incident_dismiss(actor=role_admin, incident=incident, reason="  ")
    reader = directory.user("reader")
    directory.grant(reader, "security-reader")
    with pytest.raises(DomainError) as refused:
        incident_resolve(actor=reader, incident=incident, reason="x")
    assert refused.value.code == "forbidden"
    incident_resolve(actor=role_admin, incident=incident, reason="done")
    with pytest.raises(DomainError) as again:
        incident_dismiss(actor=role_admin, incident=incident, reason="again")
    assert again.value.code == "conflict"


def test_a_disabled_alert_clears_what_it_raised(directory, global_admin, role_admin, evaluate, open_incidents):
    from alerts.services import alert_setting_update

    evaluate(KEY)
    alert_setting_update(actor=role_admin, key=KEY, enabled=False, thresholds={}, mfa_verified_at=timezone.now())
    result = evaluate(KEY)
    assert result.skipped and result.cleared == 1
    assert open_incidents(KEY) == []

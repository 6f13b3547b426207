"""A separation-of-duties exception exempts until its end and not a moment after, whether or not any
job has run: past its end a conflicting change is refused again and the existing-conflicts alert opens
again for the person."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from alerts.models import Incident
from alerts.services import alert_evaluate
from core.actors import Actor
from core.errors import DomainError
from governance.services import conflict_exception_grant


def _subjects():
    alert_evaluate(key="separation_of_duties", actor=Actor.system("alerts-evaluate"))
    incident = Incident.objects.filter(alert_key="separation_of_duties", is_current=True,
                                       status=Incident.Status.OPEN).first()
    return {item["subject_key"] for item in incident.items} if incident else set()


def test_the_exception_ends_at_its_end(directory, conflict_set, global_admin, activate):
    user = directory.user()
    submitter = directory.grant(user, "payments-submitter", "/subscriptions/pay", kind="eligible")
    made = conflict_set("refuse")
    end = timezone.now() + timedelta(days=2)
    conflict_exception_grant(actor=global_admin, conflict_set=made, principal=user.principal,
                             justification="quarter close", end_at=end, mfa_verified_at=timezone.now())
    approver = directory.grant(user, "payments-approver", "/subscriptions/pay", kind="eligible")  # exempt
    assert _subjects() == set()
    with time_machine.travel(end - timedelta(minutes=1)):
        assert _subjects() == set()
    with time_machine.travel(end + timedelta(seconds=1)):
        assert _subjects() == {f"set:{made.pk}:principal:{user.principal.pk}"}
        activate(user, submitter, duration_minutes=60)
        with pytest.raises(DomainError, match="Separation of duties"):
            activate(user, approver)
        with pytest.raises(DomainError, match="Separation of duties"):
            directory.grant(user, "payments-approver", "/subscriptions/pay/resourceGroups/rg1", kind="active")

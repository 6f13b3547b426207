from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments import services
from assignments.models import Assignment
from core import domain_events


def test_ending_an_eligibility_announces_the_end_of_its_activation(directory, role_admin):
    user = directory.user()
    eligible = directory.grant(user, "exchange-administrator", kind="eligible")
    activation = Assignment.objects.create(
        principal=user.principal, role=eligible.role, scope=eligible.scope, kind="active", activated_from=eligible,
        start_at=timezone.now(), end_at=timezone.now() + timedelta(hours=2), created_at=timezone.now())
    heard = []

    def listener(*, name, **payload):
        heard.append((name, payload.get("assignment").pk))

    domain_events.subscribe(listener)
    try:
        with time_machine.travel(timezone.now() + timedelta(minutes=6)):
            services.assignment_remove(actor=role_admin, assignment=eligible)
    finally:
        domain_events._subscribers.remove(listener)
    activation.refresh_from_db()
    assert activation.status == "ended" and activation.end_reason == "eligibility_ended"
    assert ("assignment.removed", activation.pk) in heard
    assert ("assignment.removed", eligible.pk) in heard

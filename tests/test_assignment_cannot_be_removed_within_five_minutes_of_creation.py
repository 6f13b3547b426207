from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments import services
from core.errors import DomainError


def test_removal_within_five_minutes_is_refused_and_allowed_after(directory, role_admin):
    user = directory.user()
    assignment = directory.grant(user, "helpdesk-administrator", kind="eligible")
    with pytest.raises(DomainError, match="within 5 minutes"):
        services.assignment_remove(actor=role_admin, assignment=assignment)
    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=1)):
        removed = services.assignment_remove(actor=role_admin, assignment=assignment)
    assert removed.status == "ended" and removed.end_reason == "removed"

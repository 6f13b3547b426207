"""A new user's time zone is part of creating them: checked before anything is written, stored with the
row and named in the one audit event. (The pages and the API used to create the user, then set the time
zone in a second transaction, so a refused time zone could leave a user behind.)"""

import pytest
from django.utils import timezone

from assignments import services
from assignments.models import User
from audit.models import AuditEvent
from core.errors import DomainError


def test_a_bad_time_zone_creates_nobody(directory, global_admin):
    with pytest.raises(DomainError) as refused:
        services.user_create(username="newcomer", time_zone="Mars/Olympus", actor=global_admin,
                             mfa_verified_at=timezone.now())
    assert refused.value.field_errors() == [("time_zone", refused.value.message)]
    assert not User.objects.filter(username="newcomer").exists()


def test_a_good_time_zone_is_stored_with_the_user_in_one_event(directory, global_admin):
    user = services.user_create(username="newcomer", time_zone="Europe/Paris", actor=global_admin,
                                mfa_verified_at=timezone.now())
    assert User.objects.get(pk=user.pk).time_zone == "Europe/Paris"
    events = AuditEvent.objects.filter(target_id=str(user.pk), action__startswith="user.")
    assert [(e.action, e.after.get("time_zone")) for e in events] == [("user.create", "Europe/Paris")]

from django.utils import timezone

from assignments import services
from assignments.access import access_find_grant
from assignments.models import Assignment


def test_make_active_turns_eligible_into_active_with_same_window(directory, role_admin, later):
    user = directory.user()
    end = later(days=30)
    eligible = directory.grant(user, "exchange-administrator", kind="eligible", end=end)
    active = services.assignment_make_active(actor=role_admin, assignment=eligible, justification="PIM rollback",
                                             mfa_verified_at=timezone.now())
    eligible.refresh_from_db()
    assert eligible.status == "ended" and eligible.end_reason == "made_active"
    assert active.kind == "active" and active.end_at == end and active.activated_from is None
    assert (
        access_find_grant(principal=user.principal, role="exchange-administrator", scope="/").assignment_id == active.pk
    )


def test_bulk_make_active_reports_each_row(directory, role_admin):
    users = [directory.user() for _ in range(3)]
    eligibles = [directory.grant(u, "helpdesk-administrator", kind="eligible") for u in users]
    already_active = directory.grant(directory.user(), "helpdesk-administrator", kind="active")
    ids = [e.pk for e in eligibles] + [already_active.pk, 999_999]
    results = {
        pk: (ok, message)
        for pk, ok, message in services.assignment_make_active_bulk(actor=role_admin, assignment_ids=ids,
                                                                    mfa_verified_at=timezone.now())
    }
    assert all(results[e.pk][0] for e in eligibles)
    assert results[already_active.pk] == (False, "Only eligible assignments can be made active.")
    assert results[999_999] == (False, "No such assignment.")
    assert (
        Assignment.objects.filter(principal__in=[u.principal for u in users], kind="active", status="live").count() == 3
    )

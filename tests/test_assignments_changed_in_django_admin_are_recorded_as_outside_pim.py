from datetime import timedelta

from django.utils import timezone

from assignments.models import Assignment
from audit.models import AuditEvent


def test_admin_created_assignment_is_marked_outside_pim_and_audited(directory, client):
    staff = directory.user("staff")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    target = directory.user()
    now = timezone.now()
    response = client.post(
        "/admin/assignments/assignment/add/",
        {
            "principal": target.principal.pk,
            "role": directory.role("reader").pk,
            "scope": directory.scope("/subscriptions/s1").pk,
            "kind": "active",
            "status": "live",
            "start_at_0": now.strftime("%Y-%m-%d"),
            "start_at_1": now.strftime("%H:%M:%S"),
            "end_at_0": (now + timedelta(days=1)).strftime("%Y-%m-%d"),
            "end_at_1": "12:00:00",
            "created_at_0": now.strftime("%Y-%m-%d"),
            "created_at_1": now.strftime("%H:%M:%S"),
            "justification": "",
            "ticket_system": "",
            "ticket_number": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assignment = Assignment.objects.get(principal=target.principal)
    assert assignment.origin == "outside"
    event = AuditEvent.objects.get(action="assignment.create_outside_pim")
    assert event.actor_id == staff.pk


def test_assignments_cannot_be_deleted_in_django_admin(directory, client):
    staff = directory.user("staff")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    assignment = directory.grant(directory.user(), "reader", "/subscriptions/s1")
    response = client.post(f"/admin/assignments/assignment/{assignment.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Assignment.objects.filter(pk=assignment.pk).exists()

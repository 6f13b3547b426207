from django.utils import timezone

from approvals import services as approvals_services
from core.actors import Actor
from provisioning.models import ScimApplication, ScimOperation

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def test_request_page_shows_the_scim_operations_it_caused(directory, client):
    group, user = directory.group("Database Admins"), directory.user()
    eligible = directory.add_member(group, user, kind="eligible")
    from assignments import services

    services.role_setting_update(actor=SETUP, role=directory.role("group-member"), scope=group.group_scope,
                                 values={"require_mfa_on_activation": False})
    request = approvals_services.request_self_activate(actor=user, eligible_assignment=eligible, duration_minutes=60,
                                                       justification="restore backups")
    now = timezone.now()
    app = ScimApplication.objects.create(group=group, name="Warehouse", base_url="https://scim.example.com/v2",
                                         created_at=now, updated_at=now)
    ScimOperation.objects.create(application=app, assignment=request.assignment, principal=user.principal,
                                 request=request, action="add", status="failed", not_before=now, attempts=3,
                                 last_error="401: check the bearer token", created_at=now)
    client.force_login(user)
    page = client.get(f"/requests/{request.pk}/").content.decode()
    assert "SCIM · Warehouse" in page and "check the bearer token" in page

"""A service principal never satisfies "require MFA on active assignment": through the API it can
neither make an eligible assignment active nor renew an active one where the policy requires it,
and it is told why."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments import services
from assignments.models import Assignment


def _require_mfa_on_active_reader(directory, admin):
    directory.grant(admin, "owner", "/subscriptions/s1")
    services.role_setting_update(actor=admin, role=directory.role("reader"), scope=directory.scope("/subscriptions/s1"),
                                 values={"require_mfa_on_active_assignment": True}, mfa_verified_at=timezone.now())


def test_service_principal_cannot_make_active_where_mfa_is_required(world, sp_p, admin_p, directory):
    target = directory.user("target")
    eligible = directory.grant(target, "reader", "/subscriptions/s1", kind="eligible")
    _require_mfa_on_active_reader(directory, admin_p.user)

    response = sp_p.client().post("/api/v1/requests/", {"action": "admin_make_active", "assignment": eligible.pk,
                                                        "justification": "rollback"}, format="json")

    assert response.status_code == 403, response.json()
    message = response.json()["error"]["message"]
    assert "service principal" in message and "multifactor" in message
    assert not Assignment.objects.filter(principal=target.principal, kind="active").exists()


def test_service_principal_cannot_renew_where_mfa_is_required(world, sp_p, admin_p, directory):
    target = directory.user("target")
    end = timezone.now() + timedelta(days=1)
    active = directory.grant(target, "reader", "/subscriptions/s1", end=end)
    _require_mfa_on_active_reader(directory, admin_p.user)

    with time_machine.travel(end + timedelta(days=1)):
        response = sp_p.client().post("/api/v1/requests/", {
            "action": "admin_renew", "assignment": active.pk, "justification": "still needed",
            "end_at": (timezone.now() + timedelta(days=5)).isoformat()}, format="json")

    assert response.status_code == 403, response.json()
    message = response.json()["error"]["message"]
    assert "service principal" in message and "multifactor" in message
    assert Assignment.objects.filter(principal=target.principal).count() == 1  # nothing renewed

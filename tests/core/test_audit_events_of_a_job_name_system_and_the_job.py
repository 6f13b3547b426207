"""Audit events written by a background job name the job: `system:<job>` in actor_label, no actor_id."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from approvals import services as approval_services
from assignments.sweeps import assignments_expire
from audit.models import AuditEvent
from core.actors import Actor


def test_the_expiry_sweep_is_audited_as_system_expiry_sweep(directory, requester):
    end = timezone.now() + timedelta(hours=1)
    expiring = directory.grant(requester, "exchange-administrator", end=end)

    with time_machine.travel(end + timedelta(minutes=1)):
        assignments_expire()

    event = AuditEvent.objects.get(action="assignment.expire", target_id=str(expiring.pk))
    assert event.actor_label == "system:expiry-sweep"
    assert event.actor_id is None


def test_a_timed_out_request_is_audited_as_system_request_time_out(directory, requester):
    from assignments import services

    role = directory.role("helpdesk-administrator")
    services.role_setting_update(actor=Actor.system("test-setup"), role=role, scope=directory.root,
                                 values={"require_approval": True, "require_mfa_on_activation": False,
                                         "require_ticket_on_activation": False})
    eligible = directory.grant(requester, "helpdesk-administrator", kind="eligible")
    request = approval_services.request_self_activate(actor=requester, eligible_assignment=eligible,
                                                      duration_minutes=60, justification="incident")

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        approval_services.request_expire_overdue()

    event = AuditEvent.objects.get(action="request.time_out", correlation_id=request.pk)
    assert event.actor_label == "system:request-time-out"


def test_a_person_is_still_audited_by_id_and_name(directory, role_admin, requester):
    directory.grant(requester, "exchange-administrator", kind="eligible")
    assert AuditEvent.objects.filter(action="assignment.create", actor_label="system:test-setup").exists()
    from assignments import services

    services.assignment_create(actor=Actor.person(role_admin, mfa_verified_at=timezone.now()),
                               principal=requester.principal,
                               role=directory.role("helpdesk-administrator"), scope=directory.root, kind="eligible",
                               justification="on call")
    event = AuditEvent.objects.filter(action="assignment.create").latest("seq")
    assert event.actor_id == role_admin.pk and event.actor_label == str(role_admin)

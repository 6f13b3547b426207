from unittest import mock

import pytest
from django.db import DatabaseError

from assignments import services
from assignments.models import Assignment
from audit.models import AuditEvent
from core.actors import Actor
from core.errors import DomainError

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def test_assignment_and_its_audit_event_commit_together(directory, role_admin):
    user = directory.user()
    assignment = services.assignment_create(
        actor=role_admin,
        principal=user.principal,
        role=directory.role("exchange-administrator"),
        scope=directory.root,
        kind="eligible",
        justification="new mailbox admin",
        ticket_system="Jira",
        ticket_number="OPS-42",
    )
    event = AuditEvent.objects.get(action="assignment.create", target_id=str(assignment.pk))
    assert event.actor_id == role_admin.pk and event.outcome == "success"
    assert event.principal_id == user.principal.pk and event.role_label == "Exchange Administrator"
    assert event.ticket == "Jira OPS-42" and event.after["kind"] == "eligible"
    assert event.correlation_id is not None


def test_a_failing_audit_write_rolls_the_change_back(directory, role_admin):
    user = directory.user()
    with mock.patch("assignments.services.audit_event_record", side_effect=DatabaseError("disk full")):
        with pytest.raises(DatabaseError):
            services.assignment_create(
                actor=role_admin,
                principal=user.principal,
                role=directory.role("exchange-administrator"),
                scope=directory.root,
                kind="eligible",
            )
    assert not Assignment.objects.filter(principal=user.principal).exists()


def test_refused_attempt_by_a_person_is_audited_as_denied(directory):
    actor, target = directory.user(), directory.user()
    with pytest.raises(DomainError):
        services.assignment_create(
            actor=actor,
            principal=target.principal,
            role=directory.role("global-administrator"),
            scope=directory.root,
            kind="active",
        )
    event = AuditEvent.objects.get(action="assignment.create", outcome="denied")
    assert event.actor_id == actor.pk and "not allowed" in event.message
    assert not Assignment.objects.filter(principal=target.principal).exists()


def test_refused_decision_on_a_request_is_audited_with_its_correlation_id(directory):
    from approvals import services as approvals_services

    requester = directory.user()
    eligible = directory.grant(requester, "security-administrator", kind="eligible")
    from assignments import services as assignment_services

    assignment_services.role_setting_update(actor=SETUP, role=directory.role("security-administrator"),
                                            scope=directory.root, values={"require_approval": True,
                                                                          "require_mfa_on_activation": False})
    request = approvals_services.request_self_activate(actor=requester, eligible_assignment=eligible,
                                                       duration_minutes=60, justification="incident")
    with pytest.raises(DomainError):
        approvals_services.request_approve(actor=requester, request=request)
    event = AuditEvent.objects.filter(outcome="denied", actor_id=requester.pk).latest("seq")
    assert event.correlation_id == request.pk and event.role_label == "Security Administrator"

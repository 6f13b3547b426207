import pytest

from assignments.models import Assignment
from audit.models import AuditEvent
from core.errors import DomainError


def test_a_refused_activation_leaves_an_audit_event_and_nothing_else(directory, requester, policy, eligible, activate):
    from approvals.models import Request

    policy("helpdesk-administrator", max_activation_minutes=60)
    with pytest.raises(DomainError):
        activate(requester, eligible(requester), duration_minutes=600)
    event = AuditEvent.objects.get(action="request.self_activate")
    assert event.outcome == "denied" and event.actor_id == requester.pk and "duration" in event.message
    assert not Request.objects.filter(action="self_activate").exists()
    assert not Assignment.objects.filter(principal=requester.principal, kind="active").exists()

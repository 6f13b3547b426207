from datetime import timedelta

from django.utils import timezone

from approvals.models import Request
from assignments.access import access_find_grant
from assignments.models import Assignment
from audit.models import AuditEvent
from core import domain_events


def test_activation_without_approval_is_provisioned_held_audited_and_announced(
        directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator", max_activation_minutes=120)
    eligibility = eligible(requester)
    seen = []
    domain_events.subscribe(recorder := lambda name, **kw: seen.append(name))
    try:
        request = activate(requester, eligibility, duration_minutes=90)
    finally:
        domain_events._subscribers.remove(recorder)

    assert request.status == Request.Status.PROVISIONED
    activation = request.assignment
    assert activation.kind == Assignment.Kind.ACTIVE and activation.activated_from_id == eligibility.pk
    assert abs((activation.end_at - activation.start_at) - timedelta(minutes=90)) < timedelta(seconds=1)
    grant = access_find_grant(principal=requester, role="helpdesk-administrator", scope="/")
    assert grant is not None and grant.assignment_id == activation.pk
    assert access_find_grant(principal=requester, role="helpdesk-administrator", scope="/",
                             at=activation.end_at) is None
    assert seen == ["request.created", "assignment.activated"]
    actions = set(AuditEvent.objects.filter(correlation_id=request.pk).values_list("action", flat=True))
    assert actions == {"request.self_activate", "assignment.activate"}


def test_a_member_activates_an_eligibility_held_by_their_group(directory, requester, policy, activate):
    policy("helpdesk-administrator")
    group = directory.group("Helpdesk", role_assignable=True)
    directory.add_member(group, requester)
    group_eligibility = directory.grant(group, "helpdesk-administrator", kind="eligible")

    request = activate(requester, group_eligibility)

    assert request.assignment.principal_id == requester.principal.pk
    assert request.assignment.activated_from_id == group_eligibility.pk
    assert access_find_grant(principal=requester, role="helpdesk-administrator", scope="/") is not None


def test_someone_elses_eligibility_cannot_be_activated(directory, requester, policy, eligible, activate):
    import pytest

    from core.errors import DomainError

    policy("helpdesk-administrator")
    other = directory.user("other")
    with pytest.raises(DomainError) as error:
        activate(requester, eligible(other))
    assert error.value.code == "forbidden"
    assert not Assignment.objects.filter(principal=requester.principal, kind="active").exists()
    assert timezone.now()

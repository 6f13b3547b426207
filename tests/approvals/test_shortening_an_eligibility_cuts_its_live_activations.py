"""An administrator who moves an eligibility's end earlier cuts its live activations to that end, in
the same transaction: no activation outlives the eligibility it came from. Each cut is audited as its
own event and announced to the consumers (email, SCIM); a scheduled activation that would now start
after the new end is ended."""

from datetime import timedelta

import pytest
from django.utils import timezone

from assignments import services
from assignments.access import access_find_grant
from assignments.models import Assignment
from audit.models import AuditEvent
from core import domain_events
from core.errors import DomainError


def _listening():
    heard = []

    def listener(*, name, **payload):
        heard.append((name, payload.get("assignment").pk if payload.get("assignment") is not None else None))

    return heard, listener


def test_an_earlier_end_of_the_eligibility_cuts_the_live_activation(requester, role_admin, policy, eligible,
                                                                     activate):
    policy("helpdesk-administrator")
    eligibility = eligible(requester, end=timezone.now() + timedelta(days=30))
    activation = activate(requester, eligibility, duration_minutes=240).assignment
    new_end = timezone.now() + timedelta(hours=1)
    heard, listener = _listening()
    domain_events.subscribe(listener)
    try:
        services.assignment_update(actor=role_admin, assignment=eligibility, start_at=None, end_at=new_end,
                                   mfa_verified_at=timezone.now())
    finally:
        domain_events._subscribers.remove(listener)

    activation.refresh_from_db()
    assert activation.status == Assignment.Status.LIVE
    assert activation.end_at == new_end
    cut = AuditEvent.objects.get(action="assignment.cut", target_id=str(activation.pk))
    assert cut.before["end_at"] != cut.after["end_at"]
    assert ("assignment.updated", activation.pk) in heard
    assert access_find_grant(principal=requester.principal, role=eligibility.role, scope=eligibility.scope,
                             at=new_end + timedelta(seconds=1)) is None


def test_a_scheduled_activation_after_the_new_end_is_ended(requester, role_admin, policy, eligible, activate):
    policy("helpdesk-administrator")
    eligibility = eligible(requester, end=timezone.now() + timedelta(days=30))
    activation = activate(requester, eligibility, duration_minutes=60,
                          start_at=timezone.now() + timedelta(hours=5)).assignment
    heard, listener = _listening()
    domain_events.subscribe(listener)
    try:
        services.assignment_update(actor=role_admin, assignment=eligibility, start_at=None,
                                   end_at=timezone.now() + timedelta(hours=2), mfa_verified_at=timezone.now())
    finally:
        domain_events._subscribers.remove(listener)

    activation.refresh_from_db()
    assert activation.status == Assignment.Status.ENDED
    assert activation.end_reason == Assignment.EndReason.ELIGIBILITY_ENDED
    assert AuditEvent.objects.filter(action="assignment.end", target_id=str(activation.pk)).exists()
    assert ("assignment.removed", activation.pk) in heard


def test_a_later_end_leaves_the_activation_as_it_was(requester, role_admin, policy, eligible, activate):
    policy("helpdesk-administrator")
    eligibility = eligible(requester, end=timezone.now() + timedelta(days=30))
    activation = activate(requester, eligibility, duration_minutes=60).assignment
    services.assignment_update(actor=role_admin, assignment=eligibility, start_at=None,
                               end_at=timezone.now() + timedelta(days=40), mfa_verified_at=timezone.now())
    before_end = activation.end_at
    activation.refresh_from_db()
    assert activation.status == Assignment.Status.LIVE and activation.end_at == before_end
    assert not AuditEvent.objects.filter(action="assignment.cut").exists()


def test_a_cut_of_the_last_privileged_role_administrators_activation_is_refused(requester, global_admin, policy,
                                                                               eligible, activate):
    policy("privileged-role-administrator", max_activation_minutes=180)
    eligibility = eligible(requester, "privileged-role-administrator")
    activation = activate(requester, eligibility, duration_minutes=120).assignment
    with pytest.raises(DomainError) as refused:
        services.assignment_update(actor=global_admin, assignment=eligibility, start_at=None,
                                   end_at=timezone.now() + timedelta(minutes=30), mfa_verified_at=timezone.now())
    assert refused.value.code == "conflict"
    eligibility.refresh_from_db()
    before_end = activation.end_at
    activation.refresh_from_db()
    assert eligibility.end_at is None and activation.end_at == before_end

"""The dashboard's "pending approvals" counts the requests on assignments the administrator may see (an
activation waiting on an eligibility, an extension waiting on an assignment) at the administered scope
and below; never one elsewhere, nor a decided or cancelled one."""

from datetime import timedelta

from django.utils import timezone

from alerts.selectors import dashboard_for
from approvals import services as approval_services
from assignments import services as assignment_services
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def _activation_waiting(directory, who, scope):
    eligibility = directory.grant(who, "contributor", scope, kind="eligible")
    return approval_services.request_self_activate(actor=who, eligible_assignment=eligibility, duration_minutes=60,
                                                   justification="incident 42", mfa_verified_at=timezone.now())


def _extension_waiting(directory, who, scope):
    assignment = directory.grant(who, "reader", scope, kind="eligible", end=timezone.now() + timedelta(days=3))
    return approval_services.request_self_extend(actor=who, assignment=assignment, duration_minutes=24 * 60,
                                                 justification="the migration runs late")


def test_pending_approvals_are_those_at_the_scopes_the_administrator_may_see(directory):
    approver = directory.user("approver")
    assignment_services.role_setting_update(
        actor=SETUP, role=directory.role("contributor"), scope=directory.root,
        values={"require_approval": True, "require_mfa_on_activation": False,
                "require_justification_on_activation": False, "require_ticket_on_activation": False},
        approver_ids=[approver.principal.pk])
    owner_s1, owner_s2 = directory.user("owner-s1"), directory.user("owner-s2")
    directory.grant(owner_s1, "owner", "/subscriptions/s1")
    directory.grant(owner_s2, "owner", "/subscriptions/s2")
    alice, bob, carol = directory.user("alice"), directory.user("bob"), directory.user("carol")

    _activation_waiting(directory, alice, "/subscriptions/s1")
    _activation_waiting(directory, bob, "/subscriptions/s1/resourceGroups/rg1")  # below the owner's scope
    _extension_waiting(directory, carol, "/subscriptions/s1/resourceGroups/rg1")
    elsewhere = _activation_waiting(directory, carol, "/subscriptions/s2")
    decided = _activation_waiting(directory, bob, "/subscriptions/s2/resourceGroups/rg2")
    approval_services.request_deny(actor=approver, request=decided, comment="not now")

    assert dashboard_for(user=owner_s1).pending_approvals == 3
    assert dashboard_for(user=owner_s2).pending_approvals == 1
    approval_services.request_cancel(actor=carol, request=elsewhere)
    assert dashboard_for(user=owner_s2).pending_approvals == 0
    assert dashboard_for(user=alice).pending_approvals == 0  # sees no assignment but her own: none counted

"""When one approver decides (or the requester cancels, or the window runs out), every other approver
who was asked is told that the request is closed and how, so that nobody opens a request that is no
longer theirs to decide. The approver who decided is not told of their own decision."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from approvals import services as approval_services
from approvals import sweeps


def _arrange(directory, person, policy, activate):
    alice, bob, carol, dave = (person(n) for n in ("Alice Andersen", "Bob Brown", "Carol Chen", "Dave Diaz"))
    policy("helpdesk-administrator", require_approval=True, approvers=[bob, carol, dave], approval_window_minutes=60)
    request = activate(alice, directory.grant(alice, "helpdesk-administrator", kind="eligible"))
    return request, bob


def _closing(delivered, to):
    return [m.subject for m in delivered(to) if "Approve" not in m.subject]


def test_the_other_approvers_hear_of_an_approval(directory, person, policy, activate, delivered):
    request, bob = _arrange(directory, person, policy, activate)

    approval_services.request_approve(actor=bob, request=request, comment="Go ahead")

    for to in ("carol@example.com", "dave@example.com"):
        [subject] = _closing(delivered, to)
        assert subject == "PIM: Bob Brown approved Alice Andersen's activation of Helpdesk Administrator"
        assert "Go ahead" in delivered.one(to, "approved").body
    assert _closing(delivered, "bob@example.com") == []


def test_the_other_approvers_hear_of_a_denial(directory, person, policy, activate, delivered):
    request, bob = _arrange(directory, person, policy, activate)

    approval_services.request_deny(actor=bob, request=request, comment="Not during the freeze")

    for to in ("carol@example.com", "dave@example.com"):
        message = delivered.one(to, "denied")
        assert message.subject == "PIM: Bob Brown denied Alice Andersen's activation of Helpdesk Administrator"
        assert "Reason: Not during the freeze" in message.body
    assert _closing(delivered, "bob@example.com") == []


def test_every_approver_hears_of_a_cancellation_or_a_time_out(directory, person, policy, activate, delivered):
    request, _ = _arrange(directory, person, policy, activate)
    approval_services.request_cancel(actor=request.requested_by, request=request)
    second = activate(request.requested_by, request.eligible_assignment)

    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        sweeps.requests_time_out()
        for to in ("bob@example.com", "carol@example.com", "dave@example.com"):
            assert sorted(_closing(delivered, to)) == [
                "PIM: Alice Andersen canceled their request to activate Helpdesk Administrator",
                "PIM: Alice Andersen's request to activate Helpdesk Administrator timed out",
            ]
    assert second.pk != request.pk

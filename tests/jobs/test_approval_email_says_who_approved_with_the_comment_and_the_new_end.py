"""The requester's "approved" email says who approved, with their comment, and until when the role is
now held — the end the activation actually got, decided when it was approved. With N of M approvals
every approver and comment is listed. An approval that could not be carried out says why."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from approvals import services as approval_services


def test_the_approver_their_comment_and_the_end(directory, person, policy, activate, delivered):
    alice, bob = person("Alice Andersen"), person("Bob Brown")
    policy("helpdesk-administrator", require_approval=True, approvers=[bob])
    request = activate(alice, directory.grant(alice, "helpdesk-administrator", kind="eligible"), duration_minutes=90)

    approval_services.request_approve(actor=bob, request=request, comment="One change window only")

    request.refresh_from_db()
    message = delivered.one("alice@example.com", "was approved")
    assert message.subject == "PIM: Your request to activate Helpdesk Administrator was approved"
    assert "Bob Brown approved your request to activate Helpdesk Administrator" in message.body
    assert "Comment: One change window only" in message.body
    assert f"It is active until {request.end_at:%Y-%m-%d %H:%M} UTC." in message.body
    assert "Bob Brown" in message.html and "One change window only" in message.html


def test_n_of_m_lists_every_approval(directory, person, policy, activate, delivered):
    alice, bob, carol = person("Alice Andersen"), person("Bob Brown"), person("Carol Chen")
    policy("helpdesk-administrator", require_approval=True, approvers=[bob, carol], approvals_required=2)
    request = activate(alice, directory.grant(alice, "helpdesk-administrator", kind="eligible"))

    approval_services.request_approve(actor=bob, request=request, comment="fine by me")
    approval_services.request_approve(actor=carol, request=request, comment="ok")

    message = delivered.one("alice@example.com", "was approved")
    assert "Carol Chen approved your request" in message.body
    assert "Bob Brown" in message.body and "fine by me" in message.body


def test_an_approval_that_could_not_be_carried_out_says_why(directory, person, policy, activate, delivered):
    alice, bob = person("Alice Andersen"), person("Bob Brown")
    policy("helpdesk-administrator", require_approval=True, approvers=[bob])
    eligibility = directory.grant(alice, "helpdesk-administrator", kind="eligible",
                                  end=timezone.now() + timedelta(minutes=30))
    request = activate(alice, eligibility)

    with time_machine.travel(timezone.now() + timedelta(minutes=27), tick=False):
        approval_services.request_approve(actor=bob, request=request, comment="ok")
        message = delivered.one("alice@example.com", "approved")

    assert message.subject == ("PIM: Your request to activate Helpdesk Administrator was approved but could not "
                               "be carried out")
    assert "It could not be carried out: The eligibility ends too soon for this activation." in message.body

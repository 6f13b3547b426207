"""The person an email is about reads "You activated …", "Your eligibility for … ends in 14 days";
administrators receiving the same notice read the person's name. Each address gets one copy."""

from datetime import timedelta

from django.utils import timezone

from notifications.reminders import assignments_remind


def test_the_activating_user_reads_you_and_the_admins_read_the_name(directory, global_admin, person, policy, activate,
                                                                   delivered):
    alice = person("Alice Andersen")
    policy("helpdesk-administrator")
    activate(alice, directory.grant(alice, "helpdesk-administrator", kind="eligible"))

    mine = delivered.one("alice@example.com", "activated")
    theirs = delivered.one("gadmin@example.com", "activated")
    assert mine.subject == "PIM: You activated Helpdesk Administrator"
    assert mine.body.startswith("You activated Helpdesk Administrator at /.")
    assert "You activated Helpdesk Administrator" in mine.html
    assert theirs.subject == "PIM: Alice Andersen activated Helpdesk Administrator"


def test_reminders_and_assignments_speak_to_their_holder(directory, global_admin, person, delivered):
    alice = person("Alice Andersen")
    directory.grant(alice, "helpdesk-administrator", kind="eligible", end=timezone.now() + timedelta(days=14))
    assignments_remind(now=timezone.now() + timedelta(minutes=1))

    assert delivered.subjects("alice@example.com") == [
        "PIM: You are eligible for Helpdesk Administrator",
        "PIM: Your eligibility for Helpdesk Administrator ends in 14 days",
    ]
    assert set(delivered.subjects("gadmin@example.com")) >= {
        "PIM: Alice Andersen is eligible for Helpdesk Administrator",
        "PIM: Alice Andersen's eligibility for Helpdesk Administrator ends in 14 days",
    }


def test_the_requester_of_an_approved_request_reads_your_request(directory, person, policy, activate, delivered):
    from approvals import services as approval_services

    alice, bob = person("Alice Andersen"), person("Bob Brown")
    policy("helpdesk-administrator", require_approval=True, approvers=[bob])
    request = activate(alice, directory.grant(alice, "helpdesk-administrator", kind="eligible"))
    approval_services.request_approve(actor=bob, request=request)

    for message in delivered("alice@example.com"):
        assert "Alice Andersen" not in message.subject, message.subject

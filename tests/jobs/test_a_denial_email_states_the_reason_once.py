"""A denial tells the requester who denied and why, and says the reason once (not again in a status
line that repeats it)."""

from approvals import services as approval_services


def test_the_reason_appears_once_in_each_part(directory, person, policy, activate, delivered):
    alice, bob = person("Alice Andersen"), person("Bob Brown")
    policy("helpdesk-administrator", require_approval=True, approvers=[bob])
    request = activate(alice, directory.grant(alice, "helpdesk-administrator", kind="eligible"))

    approval_services.request_deny(actor=bob, request=request, comment="Not during the freeze")

    message = delivered.one("alice@example.com", "denied")
    assert message.subject == "PIM: Your request to activate Helpdesk Administrator was denied"
    assert "Bob Brown denied your request" in message.body
    assert message.body.count("Not during the freeze") == 1
    assert message.html.count("Not during the freeze") == 1

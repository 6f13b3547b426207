"""A request that waits for approval is acknowledged to its requester: what they asked for, how many
approvers were asked, until when, and a link to the request (where they can cancel it)."""


def test_a_request_waiting_for_approval_is_acknowledged_once(directory, person, policy, activate, delivered):
    alice, bob, carol = person("Alice Andersen"), person("Bob Brown"), person("Carol Chen")
    policy("helpdesk-administrator", require_approval=True, approvers=[bob, carol], approvals_required=2)

    activate(alice, directory.grant(alice, "helpdesk-administrator", kind="eligible"), justification="INC-42")

    message = delivered.one("alice@example.com", "waiting for approval")
    assert message.subject == "PIM: Your request to activate Helpdesk Administrator is waiting for approval"
    assert "2 approvers were asked; it needs 2 approvals." in message.body
    assert "INC-42" in message.body
    assert "Alice Andersen" not in message.body.split("\n")[0]  # "Your request", not the requester's name


def test_no_acknowledgement_when_no_approval_is_needed(directory, person, policy, activate, delivered):
    alice = person("Alice Andersen")
    policy("helpdesk-administrator")

    activate(alice, directory.grant(alice, "helpdesk-administrator", kind="eligible"))

    assert not [s for s in delivered.subjects("alice@example.com") if "waiting for approval" in s]

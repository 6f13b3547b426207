"""The reference product tells Privileged Role Administrators, Global Administrators and Security
Administrators of every directory-role activation. Security Administrators hear of activations only:
not of assignments, not of resource-role activations, and they are not asked to approve."""

from assignments.models import default_notification_matrix


def test_a_directory_role_activation_reaches_security_administrators(directory, global_admin, role_admin, person,
                                                                     policy, activate, outbox):
    security = person("Sam Secure")
    directory.grant(security, "security-administrator")
    alice = person("Alice Andersen")
    policy("helpdesk-administrator")

    activate(alice, directory.grant(alice, "helpdesk-administrator", kind="eligible"))

    assert outbox.recipients("email/activated") == sorted(
        ["alice@example.com", "gadmin@example.com", "rolead@example.com", "sam@example.com"])
    assert "sam@example.com" not in {m.payload["to"] for m in outbox.rows("email/assigned")
                                     if m.payload["context"]["principal"] == "Alice Andersen"}


def test_they_follow_the_admins_cell_and_are_not_asked_to_approve(directory, global_admin, person, policy, activate,
                                                                 outbox):
    security = person("Sam Secure")
    directory.grant(security, "security-administrator")
    alice = person("Alice Andersen")
    matrix = default_notification_matrix()
    matrix["eligible_activated"]["admins"]["default_recipients"] = False
    policy("helpdesk-administrator", notifications=matrix)
    policy("exchange-administrator", require_approval=True, approvers=[])

    activate(alice, directory.grant(alice, "helpdesk-administrator", kind="eligible"))
    activate(alice, directory.grant(alice, "exchange-administrator", kind="eligible"))

    assert "sam@example.com" not in outbox.recipients("email/activated")
    assert outbox.recipients("email/approval_request") == ["gadmin@example.com"]


def test_resource_role_activations_do_not_reach_them(directory, person, policy, activate, outbox):
    security = person("Sam Secure")
    directory.grant(security, "security-administrator")
    owner = person("Olga Owner")
    sub = directory.scope("/subscriptions/s1")
    directory.grant(owner, "owner", sub)
    alice = person("Alice Andersen")
    policy("contributor", scope=sub)

    activate(alice, directory.grant(alice, "contributor", sub, kind="eligible"))

    assert "sam@example.com" not in outbox.recipients("email/activated")
    assert "olga@example.com" in outbox.recipients("email/activated")

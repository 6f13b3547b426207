"""Subjects read as a sentence about people and roles: "PIM: Approve Alice Andersen's activation of
Security Administrator", "PIM: Alice Andersen activated Security Administrator", never a form label."""


def test_approvers_are_asked_by_name_action_and_role(directory, person, policy, activate, delivered):
    alice, bob = person("Alice Andersen"), person("Bob Brown")
    policy("security-administrator", require_approval=True, approvers=[bob])

    activate(alice, directory.grant(alice, "security-administrator", kind="eligible"))

    assert delivered.subjects("bob@example.com") == [
        "PIM: Approve Alice Andersen's activation of Security Administrator"]


def test_assignment_and_activation_subjects_say_who_got_what(directory, global_admin, person, policy, activate,
                                                             delivered):
    alice = person("Alice Andersen")
    policy("helpdesk-administrator")
    eligibility = directory.grant(alice, "helpdesk-administrator", kind="eligible")
    directory.grant(alice, "reader", directory.scope("/subscriptions/s1"))

    activate(alice, eligibility)

    assert set(delivered.subjects("gadmin@example.com")) >= {
        "PIM: Alice Andersen is permanently eligible for Helpdesk Administrator",
        "PIM: Alice Andersen activated Helpdesk Administrator",
    }
    # A resource role names its scope: "Reader" alone says nothing.
    assert "PIM: You were permanently assigned Reader at /subscriptions/s1" in delivered.subjects("alice@example.com")

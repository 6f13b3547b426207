"""New high-severity incidents email the administrators of the affected role through the outbox,
once; medium and low ones do not email."""

from assignments.services import assignment_record_outside_pim
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def _outside(directory, user, slug, scope=None):
    return assignment_record_outside_pim(actor=SETUP, assignment=directory.grant(user, slug, scope), before=None)


def test_directory_role_incident_emails_global_and_privileged_role_admins(directory, global_admin, role_admin,
                                                                          evaluate, outbox):
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    _outside(directory, directory.user("eve"), "helpdesk-administrator")
    evaluate("roles_assigned_outside_pim")
    recipients = {m["to"] for m in outbox()}
    assert {"gadmin@example.com", "rolead@example.com"} <= recipients
    assert "reader@example.com" not in recipients and "eve@example.com" not in recipients
    message = next(m for m in outbox() if m["to"] == "rolead@example.com")
    assert message["subject"].startswith("PIM: Security alert (high)")
    assert "/alerts/security/incidents/" in message["text"]
    count = len(outbox())
    evaluate("roles_assigned_outside_pim")
    assert len(outbox()) == count  # the open incident is not new: no second email


def test_resource_role_incident_emails_owners_and_user_access_admins_at_or_above(directory, evaluate, outbox):
    sub = directory.scope("/subscriptions/s1")
    rg = directory.scope("/subscriptions/s1/resourceGroups/rg1")
    owner, uaa, elsewhere = directory.user("owner"), directory.user("uaa"), directory.user("elsewhere")
    directory.grant(owner, "owner", sub)
    directory.grant(uaa, "user-access-administrator", rg)
    directory.grant(elsewhere, "owner", directory.scope("/subscriptions/s2"))
    group = directory.group("rg admins")
    member = directory.user("member")
    directory.add_member(group, member)
    directory.grant(group, "owner", rg)
    _outside(directory, directory.user("eve"), "contributor", rg)
    evaluate("roles_assigned_outside_pim")
    recipients = {m["to"] for m in outbox()}
    assert {"owner@example.com", "uaa@example.com", "member@example.com"} <= recipients
    assert "elsewhere@example.com" not in recipients


def test_medium_and_low_incidents_do_not_email(directory, global_admin, evaluate, outbox):
    assert evaluate("too_many_global_admins").opened == 1
    assert outbox() == []

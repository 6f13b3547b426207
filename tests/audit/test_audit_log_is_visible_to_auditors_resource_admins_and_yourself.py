"""Who sees which audit events: directory auditors see all; a resource Owner / User Access
Administrator sees events at or below their scopes (through the scope closure, so a management group
covers its subscriptions); everybody sees "My audit" (actor or principal) and nothing else."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_event_record
from auditlog.selectors import audit_events_of, audit_events_visible_to

MG = "/providers/Microsoft.Management/managementGroups/mg1"


@pytest.fixture
def tree(directory):
    mg = directory.scope(MG)
    directory.scope("/subscriptions/s9", parent=mg)
    directory.scope("/subscriptions/s1/resourceGroups/rg1")
    directory.scope("/subscriptions/s2")
    return directory


@pytest.fixture
def marked(tree):
    """One event per scope, tagged by action."""
    for tag, path in [("root", "/"), ("s1", "/subscriptions/s1"), ("rg1", "/subscriptions/s1/resourceGroups/rg1"),
                      ("s2", "/subscriptions/s2"), ("s9", "/subscriptions/s9"), ("mg1", MG), ("none", "")]:
        audit_event_record(action=f"test.{tag}", scope=path)


def tags(qs):
    return {a.removeprefix("test.") for a in qs.filter(action__startswith="test.").values_list("action", flat=True)}


@pytest.mark.parametrize("role", ["global-reader", "security-reader", "security-administrator",
                                  "global-administrator", "privileged-role-administrator"])
def test_directory_auditors_see_everything(tree, marked, client, role):
    user = tree.user()
    tree.grant(user, role)
    assert tags(audit_events_visible_to(user=user)) == {"root", "s1", "rg1", "s2", "s9", "mg1", "none"}
    client.force_login(user)
    assert client.get(reverse("audit:list")).status_code == 200


@pytest.mark.parametrize("role", ["owner", "user-access-administrator"])
def test_resource_admins_see_their_scope_and_below_only(tree, marked, client, role):
    user = tree.user()
    tree.grant(user, role, "/subscriptions/s1")
    assert tags(audit_events_visible_to(user=user)) == {"s1", "rg1"}
    client.force_login(user)
    page = client.get(reverse("audit:list"))
    assert page.status_code == 200
    assert "test.rg1" in page.content.decode() and "test.s2" not in page.content.decode()


def test_a_management_group_owner_sees_the_subscriptions_under_it(tree, marked):
    user = tree.user()
    tree.grant(user, "owner", MG)
    assert tags(audit_events_visible_to(user=user)) == {"mg1", "s9"}


def test_an_owner_through_a_group_sees_the_resource_history(tree, marked):
    user = tree.user()
    group = tree.group("Sub owners")
    tree.add_member(group, user)
    tree.grant(group.principal if hasattr(group, "principal") else group, "owner", "/subscriptions/s2")
    assert tags(audit_events_visible_to(user=user)) == {"s2"}


def test_anyone_else_is_refused_the_log_but_sees_their_own_audit(tree, marked, client):
    user = tree.user("plain")
    audit_event_record(action="test.mine_as_actor", actor=user)
    audit_event_record(action="test.mine_as_principal", principal=user.principal)
    assert tags(audit_events_visible_to(user=user)) == set()
    assert tags(audit_events_of(user=user)) == {"mine_as_actor", "mine_as_principal"}
    client.force_login(user)
    assert client.get(reverse("audit:list")).status_code == 403
    assert client.get(reverse("audit:export")).status_code == 403
    mine = client.get(reverse("audit:mine"))
    assert mine.status_code == 200
    body = mine.content.decode()
    assert "test.mine_as_actor" in body and "test.mine_as_principal" in body and "test.root" not in body
    own = AuditEvent.objects.get(action="test.mine_as_actor")
    other = AuditEvent.objects.get(action="test.root")
    assert client.get(reverse("audit:detail", args=[own.seq])).status_code == 200
    assert client.get(reverse("audit:detail", args=[other.seq])).status_code == 404


def test_the_navigation_offers_the_log_to_auditors_and_my_audit_to_everyone(tree, client):
    auditor = tree.user()
    tree.grant(auditor, "global-reader")
    plain = tree.user()
    client.force_login(auditor)
    labels = [item["label"] for item in client.get(reverse("audit:mine")).context["nav_items"]]
    assert "Audit log" in labels and "My audit" in labels
    client.force_login(plain)
    labels = [item["label"] for item in client.get(reverse("audit:mine")).context["nav_items"]]
    assert "Audit log" not in labels and "My audit" in labels


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("audit:list"))
    assert response.status_code == 302

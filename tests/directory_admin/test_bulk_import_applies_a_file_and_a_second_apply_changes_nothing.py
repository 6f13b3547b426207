"""Apply writes scopes, users, groups with members and assignments through the services (each audited);
applying the same file again changes nothing and says so."""

import json

from django.utils import timezone

from assignments.models import Assignment, Principal, Scope, ScopeClosure, User
from audit.models import AuditEvent
from directory.bulk_import import import_run

DOCUMENT = {
    "scopes": [
        # Parents before children: a management group, a subscription in it, a resource group, a resource.
        {"path": "/providers/Microsoft.Management/managementGroups/imported", "kind": "management_group",
         "display_name": "Imported"},
        {"path": "/subscriptions/imp-1", "kind": "subscription",
         "parent": "/providers/Microsoft.Management/managementGroups/imported", "display_name": "Imported one"},
        {"path": "/subscriptions/imp-1/resourceGroups/web", "kind": "resource_group", "display_name": "web"},
        {"path": "/subscriptions/imp-1/resourceGroups/web/providers/Microsoft.Web/sites/shop", "kind": "resource",
         "display_name": "shop"},
    ],
    "users": [
        {"username": "ines", "display_name": "Inès Duarte", "email": "ines@example.com", "time_zone": "Europe/Lisbon"},
        {"username": "jo", "display_name": "Jo Park", "email": "jo@example.com"},
    ],
    "groups": [{"display_name": "Web operators", "description": "Runs the shop", "members": ["ines", "jo"]}],
    "assignments": [
        {"principal": "group:Web operators", "role": "contributor", "scope": "/subscriptions/imp-1", "kind": "active"},
        {"principal": "ines", "role": "owner", "scope": "/subscriptions/imp-1/resourceGroups/web",
         "kind": "eligible", "end_at": "2031-01-01T00:00:00Z"},
    ],
}


def _elevated(admin):
    """Resource roles are assigned by Owners / User Access Administrators: the Global Administrator elevates."""
    from assignments.services import access_elevate

    access_elevate(actor=admin, justification="import the organisation", mfa_verified_at=timezone.now())
    return admin


def test_apply_then_apply_again(global_admin):
    _elevated(global_admin)
    data = json.dumps(DOCUMENT).encode()
    first = import_run(data=data, filename="org.json", actor=global_admin, apply=True, mfa_verified_at=timezone.now())
    assert first.errors == []
    assert (first.created, first.changed, first.unchanged) == (9, 0, 0)
    assert first.summary == "Applied: 9 created, 0 changed, 0 unchanged."
    sub = Scope.objects.get(path="/subscriptions/imp-1")
    assert sub.parent.path == "/providers/Microsoft.Management/managementGroups/imported"
    # The closure row from the root to the resource exists (depth 4: root → mg → sub → rg → resource).
    assert ScopeClosure.objects.filter(ancestor__path="/", descendant__path__endswith="/sites/shop", depth=4).exists()
    ines = User.objects.get(username="ines")
    assert (ines.display_name, ines.time_zone, ines.has_usable_password()) == ("Inès Duarte", "Europe/Lisbon", False)
    group = Principal.objects.get(kind="group", display_name="Web operators")
    members = Assignment.objects.filter(scope=group.group_scope, role__slug="group-member", status="live")
    assert sorted(members.values_list("principal__user__username", flat=True)) == ["ines", "jo"]
    assert Assignment.objects.filter(principal=ines.principal, role__slug="owner", kind="eligible",
                                     end_at__year=2031).exists()
    # Every row went through its service, audited with the administrator as actor, and the file once
    # (five scope.create: the four scopes and the new group's own scope).
    actions = list(AuditEvent.objects.filter(actor_id=global_admin.pk).values_list("action", flat=True))
    assert actions.count("scope.create") == 5 and actions.count("user.create") == 2
    assert actions.count("assignment.create") == 4 and actions.count("directory.import") == 1

    events = AuditEvent.objects.count()
    second = import_run(data=data, filename="org.json", actor=global_admin, apply=True,
                        mfa_verified_at=timezone.now())
    assert second.errors == []
    assert second.summary == "No change: 0 created, 0 changed, 9 unchanged."
    assert AuditEvent.objects.count() == events + 1  # only the import itself


def test_a_changed_file_changes_only_what_differs(global_admin):
    _elevated(global_admin)
    now = timezone.now()
    import_run(data=json.dumps(DOCUMENT).encode(), actor=global_admin, apply=True, mfa_verified_at=now)
    changed = json.loads(json.dumps(DOCUMENT))
    changed["scopes"][1]["display_name"] = "Imported one (renamed)"
    changed["scopes"][1]["parent"] = "/"
    changed["users"][1]["email"] = "jo.park@example.com"
    report = import_run(data=json.dumps(changed).encode(), actor=global_admin, apply=True, mfa_verified_at=now)
    assert report.errors == []
    assert (report.created, report.changed, report.unchanged) == (0, 2, 7)
    sub = Scope.objects.get(path="/subscriptions/imp-1")
    assert (sub.display_name, sub.parent.path) == ("Imported one (renamed)", "/")
    assert not ScopeClosure.objects.filter(ancestor__path__endswith="/imported", descendant=sub).exists()
    assert User.objects.get(username="jo").principal.email == "jo.park@example.com"

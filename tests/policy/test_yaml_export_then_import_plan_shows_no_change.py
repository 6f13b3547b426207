"""The whole configuration exports as YAML and imports with a plan: on a populated world the round trip is
exact (export → plan shows no change), a changed document plans exactly its changes, applying it makes
them through the ordinary services in one transaction, and applying again changes nothing."""

import yaml

from assignments.models import Assignment, RoleSetting, Scope
from core.errors import DomainError
from policy import documents
from policy import services as policy
from policy.models import ConfigVersion
from tests.policy.world import build_world


def test_export_then_plan_shows_no_change(directory, global_admin):
    build_world(directory, global_admin)
    text = documents.config_export_yaml()
    document = yaml.safe_load(text)
    assert {s["path"] for s in document["scopes"]} >= {
        "/providers/Microsoft.Management/managementGroups/corp-prod",
        "/subscriptions/s-prod/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm1"}
    custom = next(r for r in document["roles"] if r["slug"] == "vm-operator")
    assert custom["actions"] == ["Microsoft.Compute/*/start"]
    assert custom["not_actions"] == ["Microsoft.Compute/*/delete"]
    ga = next(s for s in document["role_settings"] if s["role"] == "global-administrator")
    assert ga["trusted_networks"] == "10.0.0.0/8\n192.168.0.0/16" and "user:bob" in ga["approvers"]
    assert any(m["grant"] == "cn=Payments,ou=groups,dc=example,dc=com" for m in document["connector_mappings"])
    assert any(e["principal"] == "user:bob" and e["role"] == "vm-operator" for e in document["eligibility"])
    assert any("start_at" in e for e in document["eligibility"])  # the future start is kept
    assert document["dual_control"] == ["/subscriptions/s-prod/resourceGroups/rg-web"]

    plan = documents.config_plan(text)
    assert plan.changes == [], plan.as_text()
    assert plan.unchanged == sum(len(v) for k, v in document.items() if k != "version")
    assert plan.only_in_portal == []


def test_a_changed_document_plans_its_changes_and_applies_them_once(directory, global_admin, as_verified):
    world = build_world(directory, global_admin)
    document = yaml.safe_load(documents.config_export_yaml())
    ga = next(s for s in document["role_settings"] if s["role"] == "global-administrator")
    was = ga["max_activation_minutes"]
    ga["max_activation_minutes"] = 90
    document["scopes"].append({"path": "/subscriptions/s-new", "kind": "subscription", "name": "New",
                               "parent": "/providers/Microsoft.Management/managementGroups/corp"})
    document["scopes"].append({"path": "/subscriptions/s-new/resourceGroups/rg-a", "kind": "resource_group",
                               "name": "A", "parent": "/subscriptions/s-new"})
    document["eligibility"].append({"principal": "user:bob", "role": "reader",
                                    "scope": "/subscriptions/s-new/resourceGroups/rg-a", "end_at": None})
    text = yaml.safe_dump(document, sort_keys=False)

    plan = documents.config_plan(text)
    assert [(c.kind, c.key, c.action) for c in plan.changes] == [
        ("scope", "/subscriptions/s-new", "create"),
        ("scope", "/subscriptions/s-new/resourceGroups/rg-a", "create"),
        ("role_setting", "global-administrator@/", "update"),
        ("eligibility", "user:bob|reader@/subscriptions/s-new/resourceGroups/rg-a", "create"),
    ]
    assert plan.changes[2].diff == [{"field": "max_activation_minutes", "before": was, "after": 90}]
    assert f"~ role_setting global-administrator@/\n    max_activation_minutes: {was} → 90" in plan.as_text()

    outcome = policy.config_import(actor=as_verified(global_admin), text=text, reason="from git")
    assert outcome.applied == 4 and outcome.proposal is None
    assert Scope.objects.filter(path="/subscriptions/s-new/resourceGroups/rg-a").exists()
    assert RoleSetting.objects.get(role__slug="global-administrator", scope__path="/").max_activation_minutes == 90
    assert Assignment.objects.filter(principal=world["bob"].principal, role__slug="reader", kind="eligible",
                                     scope__path="/subscriptions/s-new/resourceGroups/rg-a").count() == 1
    version = ConfigVersion.objects.filter(kind="role_setting", key="global-administrator@/").first()
    assert (version.source, version.reason) == ("import", "Import: from git")

    assert documents.config_plan(text).changes == []
    again = policy.config_import(actor=as_verified(global_admin), text=text, reason="from git")
    assert again.applied == 0
    assert documents.config_plan(documents.config_export_yaml()).changes == []


def test_an_import_under_dual_control_becomes_one_proposal(directory, global_admin, as_verified):
    build_world(directory, global_admin)
    second_admin = directory.user("second-ga")
    directory.grant(second_admin, "owner")
    document = yaml.safe_load(documents.config_export_yaml())
    setting = next(s for s in document["role_settings"] if s["role"] == "vm-operator")
    setting["scope"] = "/subscriptions/s-prod/resourceGroups/rg-web"  # a new policy under dual control
    text = yaml.safe_dump(document, sort_keys=False)
    outcome = policy.config_import(actor=as_verified(global_admin), text=text, reason="tighter at rg-web")
    assert outcome.applied == 0 and outcome.proposal is not None
    assert "Dual control is on at /subscriptions/s-prod/resourceGroups/rg-web" in outcome.message
    assert not RoleSetting.objects.filter(scope__path="/subscriptions/s-prod/resourceGroups/rg-web").exists()
    policy.proposal_approve(actor=as_verified(second_admin), proposal=outcome.proposal)
    assert documents.config_plan(text).changes == []


def test_a_bad_document_is_refused_with_every_mistake(directory):
    document = {"version": 1, "bogus": [], "scopes": [{"kind": "subscription"}],
                "role_settings": [{"role": "x", "scope": "/"}, {"role": "x", "scope": "/"}]}
    try:
        documents.config_plan(yaml.safe_dump(document))
    except DomainError as error:
        messages = [m for _, m in error.field_errors()]
    assert any("Unknown sections: bogus" in m for m in messages)
    assert any("scopes[1] needs path" in m for m in messages)
    assert any("listed twice" in m for m in messages)

"""An import never deletes by default: what the document no longer lists is *unmanaged*, counted in the plan
and left alone. In prune mode the plan lists the unlisted eligibility, connector mappings, approval stages and
dual control as deletions, and the apply makes them through the ordinary services (the assignment is removed
with its audit event, the mapping deleted and versioned); scopes, roles, role settings and alert settings are
never pruned. On a world with every kind, export → plan shows no change with and without prune."""

from datetime import timedelta

import time_machine
import yaml
from django.utils import timezone

from assignments.models import ApprovalStage, Assignment, RoleSetting
from audit.models import AuditEvent
from connectors.models import Mapping
from policy import documents
from policy import services as policy
from policy.models import ConfigVersion
from tests.policy.world import build_world

GRANT = "cn=Payments,ou=groups,dc=example,dc=com"


def _without(document: dict, team_scope: str) -> str:
    document["eligibility"] = [e for e in document["eligibility"]
                               if not (e["principal"] == "user:bob" and e["role"] == "vm-operator")]
    document["connector_mappings"] = [m for m in document["connector_mappings"] if m["grant"] != GRANT]
    document["approval_stages"] = [s for s in document["approval_stages"] if s["role"] != "global-administrator"]
    document["role_settings"] = [s for s in document["role_settings"]
                                 if (s["role"], s["scope"]) != ("group-member", team_scope)]
    return yaml.safe_dump(document, sort_keys=False)


def test_the_round_trip_is_exact_with_and_without_prune(directory, global_admin):
    build_world(directory, global_admin)
    text = documents.config_export_yaml()
    document = yaml.safe_load(text)
    for section in ("scopes", "roles", "role_settings", "approval_stages", "connector_mappings", "alert_settings",
                    "eligibility", "dual_control"):
        assert document[section], f"the world has no {section}"
    for prune in (False, True):
        plan = documents.config_plan(text, prune=prune)
        assert (plan.changes, plan.only_in_portal) == ([], []), plan.as_text()
        assert plan.summary.startswith("No changes")


def test_without_prune_the_unlisted_items_are_counted_as_unmanaged_and_kept(directory, global_admin):
    world = build_world(directory, global_admin)
    team_scope = world["team"].group_scope.path
    text = _without(yaml.safe_load(documents.config_export_yaml()), team_scope)
    plan = documents.config_plan(text)
    assert plan.changes == []
    assert sorted((i["kind"], i["key"]) for i in plan.only_in_portal) == [
        ("approval_stages", "global-administrator@/"),
        ("connector_mapping", f"Corporate LDAP|group-member@{team_scope}|{GRANT}"),
        ("eligibility", "user:bob|vm-operator@/subscriptions/s-prod/resourceGroups/rg-web"),
        ("role_setting", f"group-member@{team_scope}"),
    ]
    assert "4 items in the portal not in the document (unmanaged) left as they are" in plan.summary
    assert plan.as_json()["unmanaged"] == 4
    assert "Plan with prune" in plan.as_text()


def test_with_prune_the_plan_lists_deletions_and_the_apply_makes_them_once(directory, global_admin, as_verified):
    world = build_world(directory, global_admin)
    text = _without(yaml.safe_load(documents.config_export_yaml()), world["team"].group_scope.path)
    plan = documents.config_plan(text, prune=True)
    assert sorted((c.action, c.kind) for c in plan.changes) == [
        ("delete", "approval_stages"), ("delete", "connector_mapping"), ("delete", "eligibility")]
    assert [(i["kind"]) for i in plan.only_in_portal] == ["role_setting"]  # never pruned: it stays
    assert "0 to create, 0 to change, 3 to delete" in plan.summary
    assert "- eligibility user:bob|vm-operator@/subscriptions/s-prod/resourceGroups/rg-web" in plan.as_text()

    with time_machine.travel(timezone.now() + timedelta(minutes=10)):  # past the five minutes before a removal
        outcome = policy.config_import(actor=as_verified(global_admin), text=text, reason="tidy up", prune=True)
        assert (outcome.applied, outcome.proposal) == (3, None)
        eligible = Assignment.objects.get(principal=world["bob"].principal, role=world["role"], kind="eligible")
        assert eligible.status != Assignment.Status.LIVE
        assert AuditEvent.objects.filter(action="assignment.remove", target_id=str(eligible.pk)).exists()
        assert not Mapping.objects.filter(grant=GRANT).exists()
        assert not ApprovalStage.objects.filter(setting__role__slug="global-administrator").exists()
        assert RoleSetting.objects.filter(role__slug="group-member", scope=world["team"].group_scope).exists()
        deleted = ConfigVersion.objects.filter(kind="connector_mapping").order_by("-number").first()
        assert (deleted.data, deleted.source, deleted.reason) == (None, "import", "Import: tidy up")

        again = documents.config_plan(text, prune=True)
        assert again.changes == [], again.as_text()
        assert policy.config_import(actor=as_verified(global_admin), text=text, reason="tidy up",
                                    prune=True).applied == 0
        exported = documents.config_export_yaml()
        assert documents.config_plan(exported, prune=True).changes == []


def test_pruning_dual_control_is_a_proposal_for_a_second_administrator(directory, global_admin, as_verified):
    build_world(directory, global_admin)
    document = yaml.safe_load(documents.config_export_yaml())
    document["dual_control"] = []
    text = yaml.safe_dump(document, sort_keys=False)
    assert [(c.action, c.kind, c.key) for c in documents.config_plan(text, prune=True).changes] == [
        ("delete", "dual_control", "/subscriptions/s-prod/resourceGroups/rg-web")]
    outcome = policy.config_import(actor=as_verified(global_admin), text=text, reason="lift it", prune=True)
    assert outcome.applied == 0 and outcome.proposal is not None
    assert outcome.proposal.changes == [{"kind": "dual_control", "key": "/subscriptions/s-prod/resourceGroups/rg-web",
                                         "data": None}]

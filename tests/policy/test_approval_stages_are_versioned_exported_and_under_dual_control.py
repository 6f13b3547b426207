"""A policy's approval stages are configuration like its fields (issue 19: "every role setting, approval
stage, … has a version history"): each change records a version with its diff, a rollback restores the
stages, the YAML export carries them (approvers by reference) and plans no change on a round trip, and
dual control refuses a direct change of them."""

import pytest

from assignments import services
from core.errors import DomainError
from policy import documents
from policy import services as policy
from policy.models import ConfigVersion

KEY = "exchange-administrator@/"


def _stages(*approvers, timeout=60):
    return [{"name": "Team lead", "approvers": [a.principal.pk for a in approvers], "approvals_required": 1,
             "timeout_minutes": timeout}]


def _set(directory, actor, stages):
    return services.role_setting_stages_set(actor=actor, role=directory.role("exchange-administrator"),
                                            scope=directory.root, stages=stages)


@pytest.fixture
def setting(directory, role_admin, as_verified):
    services.role_setting_update(actor=as_verified(role_admin), role=directory.role("exchange-administrator"),
                                 scope=directory.root, values={"require_approval": True})


def test_each_change_of_the_stages_is_a_version_and_a_rollback_restores_them(directory, role_admin, as_verified,
                                                                              setting):
    lead = directory.user("lead")
    _set(directory, as_verified(role_admin), _stages(lead, timeout=60))
    _set(directory, as_verified(role_admin), _stages(lead, timeout=120))
    _set(directory, as_verified(role_admin), _stages(lead, timeout=120))  # no change: no version
    versions = list(ConfigVersion.objects.filter(kind="approval_stages", key=KEY).order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].data["stages"][0]["approvers"] == ["user:lead"]
    assert versions[1].data["stages"][0]["timeout_minutes"] == 120
    assert versions[1].diff  # what changed between the two

    policy.version_rollback(actor=as_verified(role_admin), kind="approval_stages", key=KEY, number=1,
                            reason="back to an hour")
    stage = directory.role("exchange-administrator").settings.get(scope=directory.root).stages.get()
    assert stage.timeout_minutes == 60
    latest = ConfigVersion.objects.filter(kind="approval_stages", key=KEY).order_by("-number").first()
    assert (latest.number, latest.source, latest.rolled_back_to) == (3, "rollback", 1)


def test_the_export_carries_the_stages_and_plans_no_change(directory, role_admin, as_verified, setting):
    _set(directory, as_verified(role_admin), _stages(directory.user("lead")))
    text = documents.config_export_yaml()
    assert "approval_stages:" in text and "user:lead" in text
    plan = documents.config_plan(text)
    assert plan.changes == [], plan.as_text()
    changed = text.replace("timeout_minutes: 60", "timeout_minutes: 90")
    assert [c.kind for c in documents.config_plan(changed).changes] == ["approval_stages"]


def test_dual_control_refuses_a_direct_change_of_the_stages(directory, role_admin, as_verified, setting):
    policy.dual_control_set(actor=as_verified(role_admin), scope=directory.root, enabled=True)
    with pytest.raises(DomainError) as refused:
        _set(directory, as_verified(role_admin), _stages(directory.user("lead")))
    assert refused.value.code == "conflict" and "Dual control is on at /" in refused.value.message
    assert not directory.role("exchange-administrator").settings.get(scope=directory.root).stages.exists()

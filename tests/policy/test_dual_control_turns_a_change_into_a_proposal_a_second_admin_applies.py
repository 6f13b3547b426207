"""Dual control per scope: a direct change is refused with what to do instead; a proposal applies only
when another administrator (never its author) with the same rights approves it; withdraw and reject;
every step audited; a proposal made stale by a later change is refused."""

import pytest

from assignments import services
from assignments.models import RoleSetting
from audit.models import AuditEvent
from core.errors import DomainError
from policy import services as policy
from policy.models import ConfigVersion, Proposal

KEY = "exchange-administrator@/"


@pytest.fixture
def controlled(directory, role_admin, as_verified):
    policy.dual_control_set(actor=as_verified(role_admin), scope=directory.root, enabled=True)
    return directory.root


def _change(minutes):
    return [{"kind": "role_setting", "key": KEY,
             "data": {**policy.KINDS["role_setting"].snapshot(KEY), "max_activation_minutes": minutes}}]


def test_a_direct_change_under_dual_control_is_refused_and_changes_nothing(directory, role_admin, as_verified,
                                                                           controlled):
    role = directory.role("exchange-administrator")
    before = RoleSetting.objects.get(role=role, scope=directory.root).max_activation_minutes
    with pytest.raises(DomainError) as refused:
        services.role_setting_update(actor=as_verified(role_admin), role=role, scope=directory.root,
                                     values={"max_activation_minutes": 75})
    assert refused.value.code == "conflict" and "Dual control is on at /" in refused.value.message
    assert RoleSetting.objects.get(role=role, scope=directory.root).max_activation_minutes == before
    assert AuditEvent.objects.filter(action="role_setting.update", outcome="denied").exists()


def test_the_author_cannot_approve_and_a_second_admin_applies_it_once(directory, role_admin, second_admin,
                                                                      as_verified, controlled):
    proposal = policy.proposal_create(actor=as_verified(role_admin), changes=_change(75), reason="ticket PIM-7")
    assert proposal.status == "pending" and proposal.scope_paths == ["/"]
    with pytest.raises(DomainError) as own:
        policy.proposal_approve(actor=as_verified(role_admin), proposal=proposal)
    assert own.value.code == "forbidden"
    applied = policy.proposal_approve(actor=as_verified(second_admin), proposal=proposal, comment="checked")
    assert applied.status == "applied" and applied.decided_by == second_admin
    setting = RoleSetting.objects.get(role__slug="exchange-administrator", scope=directory.root)
    assert setting.max_activation_minutes == 75
    version = ConfigVersion.objects.filter(kind="role_setting", key=KEY).first()
    assert (version.source, version.proposal_id, version.created_by) == ("proposal", proposal.pk, second_admin)
    assert version.reason == f"Proposal #{proposal.pk}: ticket PIM-7"
    with pytest.raises(DomainError) as again:
        policy.proposal_approve(actor=as_verified(second_admin), proposal=proposal)
    assert again.value.code == "conflict"
    actions = set(AuditEvent.objects.filter(outcome="success", action__startswith="policy.").values_list(
        "action", flat=True))
    assert {"policy.dual_control", "policy.proposal_create", "policy.proposal_approve"} <= actions


def test_the_approver_needs_the_rights_the_change_needs(directory, role_admin, as_verified, controlled):
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    proposal = policy.proposal_create(actor=as_verified(role_admin), changes=_change(75), reason="why")
    with pytest.raises(DomainError) as refused:
        policy.proposal_approve(actor=as_verified(reader), proposal=proposal)
    assert refused.value.code == "forbidden"
    proposal.refresh_from_db()
    assert proposal.status == "pending"


def test_someone_without_the_rights_cannot_propose(directory, as_verified, controlled):
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    with pytest.raises(DomainError) as refused:
        policy.proposal_create(actor=as_verified(reader), changes=_change(75), reason="why")
    assert refused.value.code == "forbidden"
    assert not Proposal.objects.exists()


def test_withdraw_is_the_authors_and_reject_another_admins_with_a_reason(directory, role_admin, second_admin,
                                                                        as_verified, controlled):
    first = policy.proposal_create(actor=as_verified(role_admin), changes=_change(75), reason="one")
    with pytest.raises(DomainError):
        policy.proposal_withdraw(actor=as_verified(second_admin), proposal=first)
    assert policy.proposal_withdraw(actor=as_verified(role_admin), proposal=first).status == "withdrawn"
    second = policy.proposal_create(actor=as_verified(role_admin), changes=_change(80), reason="two")
    with pytest.raises(DomainError) as no_reason:
        policy.proposal_reject(actor=as_verified(second_admin), proposal=second, comment="")
    assert no_reason.value.field == "reason"
    rejected = policy.proposal_reject(actor=as_verified(second_admin), proposal=second, comment="too long")
    assert rejected.status == "rejected" and rejected.decision_comment == "too long"
    assert RoleSetting.objects.get(role__slug="exchange-administrator", scope=directory.root
                                   ).max_activation_minutes not in (75, 80)


def test_a_proposal_made_stale_by_a_later_change_is_refused(directory, role_admin, second_admin, as_verified,
                                                            controlled):
    stale = policy.proposal_create(actor=as_verified(role_admin), changes=_change(75), reason="first")
    newer = policy.proposal_create(actor=as_verified(role_admin), changes=_change(150), reason="second")
    policy.proposal_approve(actor=as_verified(second_admin), proposal=newer)
    with pytest.raises(DomainError) as refused:
        policy.proposal_approve(actor=as_verified(second_admin), proposal=stale)
    assert refused.value.code == "conflict" and "changed since" in refused.value.message


def test_turning_dual_control_off_is_itself_a_proposal(directory, role_admin, second_admin, as_verified, controlled):
    with pytest.raises(DomainError) as refused:
        policy.dual_control_set(actor=as_verified(role_admin), scope=directory.root, enabled=False)
    assert refused.value.code == "conflict"
    proposal = policy.proposal_create(actor=as_verified(role_admin), reason="migration done",
                                      changes=[{"kind": "dual_control", "key": "/", "data": None}])
    policy.proposal_approve(actor=as_verified(second_admin), proposal=proposal)
    services.role_setting_update(actor=as_verified(role_admin), role=directory.role("exchange-administrator"),
                                 scope=directory.root, values={"max_activation_minutes": 75})


def test_dual_control_below_does_not_gate_the_root(directory, role_admin, as_verified):
    sub = directory.scope("/subscriptions/dc1")
    policy.dual_control_set(actor=as_verified(role_admin), scope=sub, enabled=True)
    services.role_setting_update(actor=as_verified(role_admin), role=directory.role("exchange-administrator"),
                                 scope=directory.root, values={"max_activation_minutes": 75})

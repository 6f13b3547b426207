"""Setting a policy's stages: every mistake named on its stage's field, nothing written then; one audit
event with before and after, none when nothing changes; only who may manage the policy; a stage a request
waits at cannot be removed; no stages on a policy that does not exist at that scope."""

import pytest

from assignments import services
from assignments.models import ApprovalStage
from audit.models import AuditEvent
from core.errors import DomainError
from tests.approvals.conftest import SETUP

pytestmark = pytest.mark.django_db


def _set(directory, stages, actor=SETUP, slug="helpdesk-administrator"):
    return services.role_setting_stages_set(actor=actor, role=directory.role(slug), scope=directory.root,
                                            stages=stages)


def test_mistakes_are_named_and_nothing_is_written(directory, policy):
    policy("helpdesk-administrator", require_approval=True)
    a = directory.user("a")
    with pytest.raises(DomainError) as refused:
        _set(directory, [{"approvers": [a.principal.pk], "approvals_required": 2},
                         {"approvers": []},
                         {"approvers": [a.principal.pk], "escalate_on_timeout": True, "timeout_minutes": 5}])
    fields = dict(refused.value.field_errors())
    assert set(fields) == {"stages.1.approvals_required", "stages.2.approvers", "stages.3.fallback_approvers",
                           "stages.3.timeout_minutes"}, fields
    with pytest.raises(DomainError):
        _set(directory, [{"approvers": [a.principal.pk]}] * 6)
    assert not ApprovalStage.objects.exists()
    assert AuditEvent.objects.filter(action="role_setting.stages", outcome="success").count() == 0


def test_audited_once_and_a_no_op_is_silent(directory, policy):
    policy("helpdesk-administrator", require_approval=True)
    a, b = directory.user("a"), directory.user("b")
    stages = [{"name": "One", "approvers": [a.principal.pk]}, {"approvers": [b.principal.pk], "owners_of_scope": True}]
    _set(directory, stages)
    _set(directory, stages)
    events = AuditEvent.objects.filter(action="role_setting.stages", outcome="success")
    assert events.count() == 1
    assert [s["position"] for s in events.get().after["stages"]] == [1, 2]
    _set(directory, [])
    assert not ApprovalStage.objects.exists() and events.count() == 2


def test_only_who_manages_the_policy(directory, policy):
    policy("helpdesk-administrator", require_approval=True)
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    with pytest.raises(DomainError) as refused:
        _set(directory, [{"approvers": [reader.principal.pk]}], actor=reader)
    assert refused.value.code == "forbidden"
    assert AuditEvent.objects.filter(action="role_setting.stages", outcome="denied").count() == 1


def test_a_waited_at_stage_stays_and_a_missing_policy_is_refused(directory, policy, requester, eligible, activate):
    a, b = directory.user("a"), directory.user("b")
    policy("helpdesk-administrator", require_approval=True)
    _set(directory, [{"approvers": [a.principal.pk]}, {"approvers": [b.principal.pk]}])
    request = activate(requester, eligible(requester))
    assert request.approval_stage.position == 1
    with pytest.raises(DomainError) as refused:
        _set(directory, [])
    assert refused.value.code == "conflict"
    # Removing stage 2, where nobody waits, is fine; stage 1 is rewritten in place (its request keeps it).
    _set(directory, [{"approvers": [b.principal.pk]}])
    request.refresh_from_db()
    assert request.approval_stage.position == 1 and list(request.approval_stage.approvers.all()) == [b.principal]
    with pytest.raises(DomainError) as missing:  # no policy of Contributor at that subscription
        services.role_setting_stages_set(actor=SETUP, role=directory.role("contributor"),
                                         scope=directory.scope("/subscriptions/nothing-here"),
                                         stages=[{"approvers": [a.principal.pk]}])
    assert missing.value.code == "conflict"

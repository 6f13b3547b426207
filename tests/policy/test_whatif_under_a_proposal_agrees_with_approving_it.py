"""Property: over random worlds and random pending proposals (a role setting, its approval stages, adding or
removing an eligibility), the what-if of a self-activation under the proposal (for a person other than the
one asking) changes nothing, and its verdict is what `request_self_activate` does once a second
administrator approves the proposal: activate, wait for approval, or refuse with a refusal of the same kind."""

import os

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from approvals.models import Request
from approvals.services import request_self_activate
from assignments import services
from assignments.access import access_find_eligibility
from assignments.models import Assignment, RoleSetting, Scope
from assignments.services import ROLE_SETTING_FIELDS
from core.actors import Actor
from core.errors import DomainError
from governance.whatif import ACTIVATE, APPROVAL, REFUSED
from policy import refs
from policy import services as policy
from policy.registry import KINDS

SETUP = Actor.system("test-setup")
SOMETIMES = st.sampled_from([False, False, True])
POLICY = st.fixed_dictionaries({
    "max_activation_minutes": st.sampled_from([60, 120, 480]),
    "require_mfa_on_activation": SOMETIMES,
    "require_justification_on_activation": SOMETIMES,
    "require_ticket_on_activation": SOMETIMES,
    "require_approval": st.booleans(),
})
MOSTLY = st.sampled_from([True, True, True, False])
SCOPE = st.integers(0, 2)
world = st.fixed_dictionaries({
    "eligible": st.sampled_from([None, "direct", "direct", "group"]),
    "eligible_scope": SCOPE,
    "setting": st.one_of(st.none(), st.tuples(SCOPE, POLICY)),
    "change": st.one_of(st.tuples(st.just("role_setting"), SCOPE, POLICY),
                        st.tuples(st.just("approval_stages"), SCOPE, POLICY),
                        st.tuples(st.just("eligibility_add"), SCOPE, POLICY),
                        st.tuples(st.just("eligibility_remove"), SCOPE, POLICY)),
    # The scope asked: mostly the deepest one (below every eligibility), else any.
    "ask": st.fixed_dictionaries({"scope": st.sampled_from([2, 2, 0, 1]), "duration": st.sampled_from([30, 60, 90]),
                                  "justification": MOSTLY, "ticket": MOSTLY, "mfa": MOSTLY}),
})


def _defaults() -> dict:
    defaults = RoleSetting()
    return {name: getattr(defaults, name) for name in ROLE_SETTING_FIELDS} | {"approvers": []}


def _change(kind_name, scopes, user, other, contributor, scope_i, values) -> dict | None:
    path = scopes[scope_i].path
    if kind_name == "role_setting":
        key = f"contributor@{path}"
        return {"kind": "role_setting", "key": key,
                "data": {**(KINDS["role_setting"].snapshot(key) or _defaults()), **values}}
    if kind_name == "approval_stages":
        setting = RoleSetting.objects.filter(role=contributor).order_by("-scope__path").first()
        if setting is None:
            return None
        return {"kind": "approval_stages", "key": f"contributor@{setting.scope.path}",
                "data": {"stages": [{"name": "Lead", "approvers": [refs.principal_ref(other.principal)],
                                     "approvals_required": 1, "timeout_minutes": 60}]}}
    ref = refs.principal_ref(user.principal)
    if kind_name == "eligibility_add":
        return {"kind": "eligibility", "key": f"{ref}|contributor@{path}", "data": {"end_at": None}}
    existing = Assignment.objects.filter(principal=user.principal, role=contributor, kind="eligible").first()
    if existing is None:
        return None
    return {"kind": "eligibility", "key": f"{ref}|contributor@{existing.scope.path}", "data": None}


@pytest.mark.django_db(transaction=False)
@settings(max_examples=int(os.environ.get("PIM_PROPERTY_EXAMPLES", "25")), deadline=None, database=None,
          derandomize=os.environ.get("PIM_PROPERTY_RANDOM") != "1",
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=world)
def test_whatif_under_a_proposal_is_what_approving_it_then_activating_does(directory, global_admin, data):
    with transaction.atomic():
        now = timezone.now()
        mg = services.scope_create(path="/providers/Microsoft.Management/managementGroups/wp", display_name="wp",
                                   kind=Scope.Kind.MANAGEMENT_GROUP, parent=directory.root, actor=SETUP)
        sub = services.scope_create(path="/subscriptions/wp-sub", display_name="wp-sub", kind=Scope.Kind.SUBSCRIPTION,
                                    parent=mg, actor=SETUP)
        scopes = [directory.root, mg, sub]
        directory.grant(global_admin, "owner", directory.root)
        second = directory.user()
        directory.grant(second, "global-administrator")
        directory.grant(second, "owner", directory.root)
        user, other = directory.user(), directory.user()  # the person simulated is not the one asking
        group = directory.group()
        contributor, member = directory.role("contributor"), directory.role("group-member")
        past = now - timezone.timedelta(days=1)
        if data["eligible"]:
            holder = user.principal if data["eligible"] == "direct" else group
            rows = [Assignment(principal=holder, role=contributor, scope=scopes[data["eligible_scope"]],
                               kind="eligible", start_at=past, created_at=past)]
            if data["eligible"] == "group":
                rows.append(Assignment(principal=user.principal, role=member, scope=group.group_scope, kind="active",
                                       start_at=past, created_at=past))
            Assignment.objects.bulk_create(rows)
        if data["setting"]:
            RoleSetting.objects.update_or_create(role=contributor, scope=scopes[data["setting"][0]],
                                                 defaults=data["setting"][1])
        change = _change(*data["change"][:1], scopes, user, other, contributor, *data["change"][1:])
        assume(change is not None)
        try:
            proposal = policy.proposal_create(actor=Actor.person(global_admin, mfa_verified_at=now),
                                              changes=[change], reason="property")
        except DomainError:
            assume(False)  # nothing would change, or no such item: not a proposal
        before = KINDS[change["kind"]].snapshot(change["key"])

        ask = data["ask"]
        scope = scopes[ask["scope"]]
        answers = {"duration_minutes": ask["duration"], "justification": "work" if ask["justification"] else "",
                   "ticket_system": "jira" if ask["ticket"] else "", "ticket_number": "PAY-1" if ask["ticket"] else ""}
        explanation = policy.proposal_whatif(proposal=proposal, principal=user.principal, role=contributor,
                                             scope=scope, mfa_verified=ask["mfa"], **answers)
        assert KINDS[change["kind"]].snapshot(change["key"]) == before  # the simulation saved nothing

        policy.proposal_approve(actor=Actor.person(second, mfa_verified_at=timezone.now()), proposal=proposal)
        grant = access_find_eligibility(principal=user.principal, role=contributor, scope=scope, at=timezone.now())
        candidates = ([Assignment.objects.get(pk=grant.assignment_id)] if grant else
                      list(Assignment.objects.filter(role=contributor, kind="eligible", status="live",
                                                     principal__in=[user.principal, group])))
        outcomes, codes = [], set()
        for eligible in candidates:
            try:
                with transaction.atomic():
                    request = request_self_activate(
                        actor=user, eligible_assignment=eligible.pk, scope=scope,
                        mfa_verified_at=timezone.now() if ask["mfa"] else None, **answers)
                    outcomes.append(APPROVAL if request.status == Request.Status.PENDING_APPROVAL else ACTIVATE)
                    transaction.set_rollback(True)
            except DomainError as error:
                outcomes.append(REFUSED)
                codes.add(error.code)
        event(f"{change['kind']} {explanation.verdict} {sorted(r.code for r in explanation.refusals)}")
        if explanation.verdict == REFUSED:
            assert set(outcomes) <= {REFUSED}, (explanation.refusals, outcomes)
            if codes and explanation.eligibility:
                assert codes <= {r.code for r in explanation.refusals}, (codes, explanation.refusals)
        else:
            assert outcomes == [explanation.verdict], (explanation.as_dict(), outcomes, codes)
        transaction.set_rollback(True)

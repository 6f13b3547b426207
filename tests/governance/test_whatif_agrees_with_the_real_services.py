"""Property: over random worlds (scope trees, groups and memberships, eligible and active assignments,
role settings with MFA / justification / ticket / approval / networks / time windows, separation-of-duties
sets, open requests, a proposed policy), the what-if's verdict is what `request_self_activate` then
actually does at that time — activate, wait for approval, or refuse (with a refusal of the same kind) —
and an activation it predicts is held by the access check right after."""

import os
from datetime import timedelta

import time_machine
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from approvals.models import Request
from approvals.services import request_self_activate
from assignments import services
from assignments.access import access_find_grant
from assignments.models import Assignment, RoleSetting, Scope
from core.actors import Actor
from core.errors import DomainError
from governance.models import ConflictSet
from governance.whatif import ACTIVATE, APPROVAL, REFUSED, Proposal, whatif_explain

SETUP = Actor.system("test-setup")
# A Monday 07:00 UTC a week ahead: the hour offsets below cross the 08:00-18:00 window.
_now = timezone.now()
BASE = (_now + timedelta(days=7 - _now.weekday())).replace(hour=7, minute=0, second=0, microsecond=0)
ROLES = ["contributor", "reader"]
HOURS = st.integers(min_value=-3, max_value=3)
SOMETIMES = st.sampled_from([False, False, True])  # each requirement on a third of the time
POLICY = st.fixed_dictionaries({
    "max_activation_minutes": st.sampled_from([60, 120, 480]),
    "require_mfa_on_activation": SOMETIMES,
    "require_justification_on_activation": SOMETIMES,
    "require_ticket_on_activation": SOMETIMES,
    "require_approval": st.booleans(),
    "trusted_networks": st.sampled_from(["", "10.0.0.0/8"]),
    "allowed_time_windows": st.sampled_from(["", "Mon-Fri 08:00-18:00"]),
})

MOSTLY = st.sampled_from([True, True, True, False])  # each answer given most of the time
world = st.fixed_dictionaries({
    # The eligibility under test, mostly there: (the user 0 or the group 2, scope, start, end or permanent).
    "eligibility": st.tuples(st.sampled_from([0, 2]), st.integers(0, 5), st.integers(-3, 0),
                             st.one_of(st.none(), st.integers(1, 24))),
    "eligible": MOSTLY,  # whether that eligibility exists
    "parents": st.lists(st.integers(0, 10), min_size=1, max_size=4),
    "memberships": st.lists(st.tuples(st.integers(0, 1), HOURS, st.one_of(st.none(), HOURS)), max_size=2),
    # (principal: 0 user, 1 the other user, 2 the group), role, scope, kind, start, end
    "assignments": st.lists(st.tuples(st.integers(0, 2), st.sampled_from(ROLES), st.integers(0, 5),
                                      st.sampled_from(["eligible", "active"]), HOURS, st.one_of(st.none(), HOURS)),
                            max_size=6),
    "settings": st.lists(st.tuples(st.integers(0, 5), POLICY), min_size=1, max_size=2),
    "conflict": st.sampled_from([None, "refuse", "flag"]),
    "open_request": st.booleans(),
    "emergency": st.booleans(),
    "ask": st.fixed_dictionaries({
        "scope": st.integers(0, 5), "at": st.integers(-2, 6), "at_the_eligibility": MOSTLY,
        "duration": st.sampled_from([3, 30, 60, 90, 90, 600]),
        "justification": MOSTLY, "ticket": MOSTLY, "mfa": MOSTLY,
        "ip": st.sampled_from([None, "10.1.2.3", "10.1.2.3", "192.0.2.7"]),
    }),
    "proposal": st.one_of(st.none(), st.tuples(st.integers(0, 5), POLICY)),
})


def _window(start_h, end_h):
    start = BASE + timedelta(hours=start_h)
    return start, None if end_h is None else start + timedelta(hours=abs(end_h) + 1)


def _outcome(request: Request) -> str:
    return APPROVAL if request.status == Request.Status.PENDING_APPROVAL else ACTIVATE


@settings(max_examples=int(os.environ.get("PIM_PROPERTY_EXAMPLES", "60")), deadline=None, database=None,
          derandomize=os.environ.get("PIM_PROPERTY_RANDOM") != "1",
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=world)
# Always tried: eligible through a group at an ancestor scope, under a policy needing approval.
@example(data={"eligibility": (0, 0, 0, None), "eligible": False, "parents": [0], "memberships": [(0, -1, None)],
               "assignments": [(2, "contributor", 0, "eligible", -1, None)],
               "settings": [(0, {"max_activation_minutes": 120, "require_mfa_on_activation": False,
                                 "require_justification_on_activation": True,
                                 "require_ticket_on_activation": False, "require_approval": True,
                                 "trusted_networks": "", "allowed_time_windows": ""})],
               "conflict": None, "open_request": False, "emergency": False,
               "ask": {"scope": 1, "at_the_eligibility": False, "at": 2, "duration": 90, "justification": True,
                       "ticket": False, "mfa": False, "ip": None},
               "proposal": None})
# And: a refuse-mode conflict set with the other role active at a scope above.
@example(data={"eligibility": (0, 0, 0, None), "eligible": False, "parents": [0], "memberships": [],
               "assignments": [(0, "contributor", 1, "eligible", -1, None), (0, "reader", 0, "active", -1, None)],
               "settings": [], "conflict": "refuse", "open_request": False, "emergency": False,
               "ask": {"scope": 1, "at_the_eligibility": False, "at": 2, "duration": 30, "justification": True,
                       "ticket": True, "mfa": True, "ip": None},
               "proposal": None})
def test_whatif_verdict_is_what_the_activation_does(directory, data):
    with transaction.atomic():
        scopes = [directory.root]
        for i, parent_index in enumerate(data["parents"]):
            scopes.append(services.scope_create(path=f"/providers/Microsoft.Management/managementGroups/w{i}",
                                                kind=Scope.Kind.MANAGEMENT_GROUP, display_name=f"w{i}",
                                                parent=scopes[parent_index % len(scopes)], actor=SETUP))

        def scope_of(index):
            return scopes[index % len(scopes)]

        user, other = directory.user(), directory.user()
        if data["emergency"]:
            type(user).objects.filter(pk=user.pk).update(is_emergency_access=True)
            user.refresh_from_db()
        group = directory.group()
        principals = [user.principal, other.principal, group]
        roles = {slug: directory.role(slug) for slug in ROLES + ["group-member"]}
        rows, seen = [], set()
        memberships = list(data["memberships"])
        if data["eligible"] and data["eligibility"][0] == 2 and data["ask"]["at_the_eligibility"]:
            memberships.insert(0, (0, -3, None))  # through the group: the user is a member
        for who, start_h, end_h in memberships:
            key = (principals[who].pk, "member")
            if key not in seen:
                seen.add(key)
                rows.append(Assignment(principal=principals[who], role=roles["group-member"], scope=group.group_scope,
                                       kind="active", start_at=_window(start_h, end_h)[0],
                                       end_at=_window(start_h, end_h)[1], created_at=BASE - timedelta(days=1)))
        wanted = list(data["assignments"])
        if data["eligible"]:
            who, scope_i, start_h, end_h = data["eligibility"]
            wanted.insert(0, (who, "contributor", scope_i, "eligible", start_h, end_h))
        for who, role, scope_i, kind, start_h, end_h in wanted:
            key = (principals[who].pk, role, scope_of(scope_i).pk, kind)
            if key not in seen:
                seen.add(key)
                start, end = _window(start_h, end_h)
                rows.append(Assignment(principal=principals[who], role=roles[role], scope=scope_of(scope_i),
                                       kind=kind, start_at=start, end_at=end, created_at=BASE - timedelta(days=1)))
        Assignment.objects.bulk_create(rows)
        for scope_i, values in data["settings"]:
            RoleSetting.objects.update_or_create(role=roles["contributor"], scope=scope_of(scope_i), defaults=values)
        if data["conflict"]:
            conflict_set = ConflictSet.objects.create(name="payments", mode=data["conflict"], created_at=BASE,
                                                      updated_at=BASE)
            conflict_set.roles.set([roles["contributor"], roles["reader"]])
        candidates = list(Assignment.objects.filter(role=roles["contributor"], kind="eligible",
                                                    principal__in=[user.principal, group]))
        if data["open_request"] and candidates:
            Request.objects.create(action=Request.Action.SELF_ACTIVATE, status=Request.Status.PENDING_APPROVAL,
                                   requested_by=user, principal=user.principal, role=roles["contributor"],
                                   scope=candidates[0].scope, eligible_assignment=candidates[0], created_at=BASE)

        ask = data["ask"]
        at = BASE + timedelta(hours=ask["at"], minutes=30)
        scope = scope_of(data["eligibility"][1] if data["eligible"] and ask["at_the_eligibility"] else ask["scope"])
        answers = {"duration_minutes": ask["duration"], "justification": "work" if ask["justification"] else "",
                   "ticket_system": "jira" if ask["ticket"] else "", "ticket_number": "PAY-1" if ask["ticket"] else "",
                   "client_ip": ask["ip"]}
        proposal = None
        if data["proposal"]:
            proposal = Proposal(scope=scope_of(data["proposal"][0]), values=data["proposal"][1])
        with time_machine.travel(at, tick=False):
            explanation = whatif_explain(principal=user.principal, role=roles["contributor"], scope=scope, at=at,
                                         mfa_verified=ask["mfa"], proposal=proposal, **answers)
            if proposal is not None:  # then really make the proposed change, and activate under it
                services.role_setting_update(actor=SETUP, role=roles["contributor"], scope=proposal.scope,
                                             values=proposal.values)
            tried = ([Assignment.objects.get(pk=explanation.eligibility["assignment_id"])]
                     if explanation.eligibility else candidates)
            outcomes, codes = [], set()
            for eligible in tried:
                try:
                    with transaction.atomic():
                        request = request_self_activate(
                            actor=user, eligible_assignment=eligible.pk, scope=scope,
                            mfa_verified_at=timezone.now() if ask["mfa"] else None, **answers)
                        outcomes.append(_outcome(request))
                        if outcomes[-1] == ACTIVATE:
                            assert access_find_grant(principal=user.principal, role=roles["contributor"],
                                                     scope=scope, at=at) is not None
                        transaction.set_rollback(True)
                except DomainError as error:
                    outcomes.append(REFUSED)
                    codes.add(error.code)
        event(f"{explanation.verdict} {'eligible' if explanation.eligibility else 'not eligible'} "
              f"{sorted({r.code for r in explanation.refusals})}")  # the spread: --hypothesis-show-statistics
        if explanation.verdict == REFUSED:
            assert set(outcomes) <= {REFUSED}, (explanation.refusals, outcomes)
            if codes and explanation.eligibility:
                assert codes <= {r.code for r in explanation.refusals}, (codes, explanation.refusals)
        else:
            assert outcomes == [explanation.verdict], (explanation.as_dict(), outcomes, codes)
        transaction.set_rollback(True)

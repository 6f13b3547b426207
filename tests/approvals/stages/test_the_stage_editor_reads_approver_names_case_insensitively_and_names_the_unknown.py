"""The stages page takes approvers as names, one a line: a user by user name and a group by its name,
whatever the case (as its help says), and names every line that matches nobody (or several groups) in
the field's error instead of saving."""

import pytest

from assignments.forms import ApprovalStageForm
from assignments.selectors import principals_by_names

pytestmark = pytest.mark.django_db


def test_names_match_whatever_their_case(directory):
    alice = directory.user("alice")
    team = directory.group("Security Team")
    found, unknown = principals_by_names(names=["ALICE", "security team"])
    assert {p.pk for p in found} == {alice.principal.pk, team.pk} and unknown == []


def test_unknown_and_ambiguous_names_are_form_errors(directory):
    directory.user("alice")
    directory.group("Ops")
    directory.group("ops")
    form = ApprovalStageForm(data={"approvers": "Alice\nnobody\nOps", "approvals_required": 1,
                                   "timeout_minutes": 60, "fallback_approvals_required": 1})
    assert not form.is_valid()
    assert form.errors["approvers"] == ["No single user or group is called: nobody, Ops."]

"""Reconciliation reads each mapped grant back: a grant made by hand in the target is drift "outside
PIM" and an incident (also under "Roles assigned outside PIM"); a grant missing while PIM says active,
or still present after the end, is drift too. Each fix (revoke in the target, adopt into PIM as
eligible, grant again) is audited and clears the drift."""

import pytest
from django.utils import timezone

from alerts.models import Incident
from assignments.models import Assignment
from audit.models import AuditEvent
from connectors.models import Drift
from connectors.reconcile import connectors_reconcile, target_reconcile
from connectors.services import drift_fix_adopt, drift_fix_regrant, drift_fix_revoke

pytestmark = pytest.mark.django_db


def test_a_grant_made_by_hand_is_an_incident_and_can_be_revoked(slapd, mapped_ldap_group, ldap_target, directory,
                                                                global_admin):
    _, group_dn = mapped_ldap_group
    mallory_dn = slapd.add_user("mallory")
    directory.user("mallory")
    slapd.add_member(group_dn, mallory_dn)  # by hand, in the directory
    stranger_dn = slapd.add_user("stranger")  # an account PIM does not know
    slapd.add_member(group_dn, stranger_dn)

    connectors_reconcile()
    drifts = {d.account: d for d in Drift.objects.filter(status="open")}
    assert set(drifts) == {mallory_dn, stranger_dn}
    assert {d.kind for d in drifts.values()} == {"outside"}
    assert drifts[mallory_dn].principal.display_name == "Mallory" and drifts[stranger_dn].principal is None
    for key in ("connector_drift", "roles_assigned_outside_pim"):
        incident = Incident.objects.get(alert_key=key, is_current=True)
        assert incident.status == "open" and incident.severity == "high"
        assert {item["data"].get("account") for item in incident.items} >= {mallory_dn, stranger_dn}

    drift_fix_revoke(actor=global_admin, drift=drifts[stranger_dn], mfa_verified_at=timezone.now())
    assert slapd.members(group_dn) == [mallory_dn]
    assert AuditEvent.objects.filter(action="connector_drift.fix").count() == 1

    result = target_reconcile(target=ldap_target)
    assert result.cleared == 0 and Drift.objects.filter(status="open").count() == 1  # mallory still open


def test_adopting_makes_the_person_eligible_and_takes_the_standing_grant_away(slapd, mapped_ldap_group,
                                                                              ldap_target, db_admins_group,
                                                                              directory, global_admin):
    _, group_dn = mapped_ldap_group
    dave_dn = slapd.add_user("dave")
    dave = directory.user("dave")
    slapd.add_member(group_dn, dave_dn)
    target_reconcile(target=ldap_target)
    drift = Drift.objects.get(status="open")

    eligible = drift_fix_adopt(actor=global_admin, drift=drift, justification="he runs the DB on-call",
                               mfa_verified_at=timezone.now())
    assert (eligible.principal, eligible.kind, eligible.scope) == (dave.principal, "eligible",
                                                                   db_admins_group.group_scope)
    assert slapd.members(group_dn) == []
    drift.refresh_from_db()
    assert drift.status == "fixed" and "Adopted as eligible" in drift.resolution
    target_reconcile(target=ldap_target)
    assert not Drift.objects.filter(status="open").exists()


def test_missing_and_lingering_grants_are_drift(slapd, mapped_ldap_group, ldap_target, db_admins_group, directory,
                                                global_admin, relay):
    _, group_dn = mapped_ldap_group
    erin_dn = slapd.add_user("erin")
    erin = directory.user("erin")
    membership = directory.add_member(db_admins_group, erin)  # permanent active
    relay()
    assert slapd.members(group_dn) == [erin_dn]
    conn = slapd.connection()
    from ldap3 import MODIFY_DELETE
    conn.modify(group_dn, {"member": [(MODIFY_DELETE, [erin_dn])]})  # someone removed her by hand
    conn.unbind()

    target_reconcile(target=ldap_target)
    drift = Drift.objects.get(status="open")
    assert (drift.kind, drift.principal) == ("missing", erin.principal)
    drift_fix_regrant(actor=global_admin, drift=drift)
    relay()
    assert slapd.members(group_dn) == [erin_dn]
    target_reconcile(target=ldap_target)
    assert not Drift.objects.filter(status="open").exists()

    # Ended in PIM, then put back in the target by hand: still present after the end.
    Assignment.objects.filter(pk=membership.pk).update(status="ended", end_reason="removed", ended_at=timezone.now())
    relay()
    target_reconcile(target=ldap_target)
    assert Drift.objects.get(status="open").kind == "lingering"

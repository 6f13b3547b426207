"""A drift incident's page offers the same fixes as the target's page (revoke in the target, adopt as
eligible, grant again); a fix posted there is applied, audited, and brings the person back to the
incident. People who cannot manage connectors see no fix buttons."""

import pytest
from django.urls import reverse

from alerts.models import Incident
from audit.models import AuditEvent
from connectors.models import Drift
from connectors.reconcile import connectors_reconcile
from tests.conftest import mark_mfa_verified

pytestmark = pytest.mark.django_db


def test_the_incident_page_revokes_a_grant_made_by_hand(client, slapd, mapped_ldap_group, directory, global_admin):
    _, group_dn = mapped_ldap_group
    mallory_dn = slapd.add_user("mallory")
    directory.user("mallory")
    slapd.add_member(group_dn, mallory_dn)
    connectors_reconcile()
    drift = Drift.objects.get(status="open")
    incident = Incident.objects.get(alert_key="connector_drift", is_current=True)

    client.force_login(global_admin)
    mark_mfa_verified(client)
    page = client.get(reverse("alerts:incident", args=[incident.pk])).content.decode()
    revoke_url = reverse("connectors:drift_fix", args=[drift.target_id, drift.pk, "revoke"])
    adopt_url = reverse("connectors:drift_fix", args=[drift.target_id, drift.pk, "adopt"])
    assert revoke_url in page and adopt_url in page and "Fix in the target" in page

    # The other incident ("Roles assigned outside PIM") offers the same fixes for the same drift.
    outside = Incident.objects.get(alert_key="roles_assigned_outside_pim", is_current=True)
    assert revoke_url in client.get(reverse("alerts:incident", args=[outside.pk])).content.decode()

    back = reverse("alerts:incident", args=[incident.pk])
    response = client.post(revoke_url, {"next": back})
    assert response.status_code == 302 and response.url == back
    assert slapd.members(group_dn) == []
    drift.refresh_from_db()
    assert drift.status == "fixed"
    assert AuditEvent.objects.filter(action="connector_drift.fix").count() == 1
    page = client.get(back).content.decode()
    assert revoke_url not in page and "Fixed" in page


def test_a_foreign_next_is_ignored(client, slapd, mapped_ldap_group, directory, global_admin):
    _, group_dn = mapped_ldap_group
    slapd.add_member(group_dn, slapd.add_user("mallory"))
    directory.user("mallory")
    connectors_reconcile()
    drift = Drift.objects.get(status="open")
    client.force_login(global_admin)
    mark_mfa_verified(client)
    response = client.post(reverse("connectors:drift_fix", args=[drift.target_id, drift.pk, "revoke"]),
                           {"next": "https://evil.example.com/"})
    assert response.status_code == 302 and response.url == reverse("connectors:target", args=[drift.target_id])


def test_a_security_reader_sees_the_incident_without_fixes(client, slapd, mapped_ldap_group, directory):
    _, group_dn = mapped_ldap_group
    slapd.add_member(group_dn, slapd.add_user("mallory"))
    directory.user("mallory")
    connectors_reconcile()
    drift = Drift.objects.get(status="open")
    incident = Incident.objects.get(alert_key="connector_drift", is_current=True)
    reader = directory.user("reader")
    directory.grant(reader.principal, "security-reader")
    client.force_login(reader)
    response = client.get(reverse("alerts:incident", args=[incident.pk]))
    assert response.status_code == 200
    assert reverse("connectors:drift_fix", args=[drift.target_id, drift.pk, "revoke"]) not in response.content.decode()

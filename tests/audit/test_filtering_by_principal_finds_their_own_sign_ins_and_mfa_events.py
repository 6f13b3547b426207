"""Filtering the audit log by a person finds the events about their assignments and requests and also
the ones where they are the actor or the subject: their sign-ins, failed sign-ins against their
account, their MFA verification, the enrolment codes an administrator issued to them. Other people's
events stay out."""

import pytest
from django.urls import reverse

from accounts.services import auth_sign_in_failed_record, auth_sign_in_record
from audit.services import audit_event_record
from auditlog.selectors import audit_events_filtered


@pytest.fixture
def auditor(directory):
    user = directory.user("auditor")
    directory.grant(user, "global-reader")
    return user


@pytest.fixture
def people(directory, global_admin):
    alice, bob = directory.user("alice"), directory.user("bob")
    role = directory.role("helpdesk-administrator")
    audit_event_record(action="test.assigned", actor=global_admin, principal=alice.principal, role=role, scope="/")
    auth_sign_in_record(user=alice)
    auth_sign_in_failed_record(login="alice")
    audit_event_record(action="mfa.verify", actor=alice, target=alice)
    audit_event_record(action="mfa.enrolment_code", actor=global_admin, target=alice)
    auth_sign_in_record(user=bob)
    audit_event_record(action="mfa.verify", actor=bob, target=bob)
    return {"alice": alice, "bob": bob}


def actions(auditor, **params) -> list[str]:
    qs = audit_events_filtered(user=auditor, params=params).exclude(action__in=["user.create", "assignment.create"])
    return sorted(qs.values_list("action", flat=True))


ALICE = sorted(["test.assigned", "auth.sign_in", "auth.sign_in_failed", "mfa.verify", "mfa.enrolment_code"])


def test_by_name_the_person_s_sign_ins_and_mfa_events_come_with_their_assignments(auditor, people):
    assert actions(auditor, principal="Alice") == ALICE


def test_by_principal_id_too(auditor, people):
    alice = people["alice"]
    assert actions(auditor, principal=f"#{alice.principal.pk}") == ALICE
    assert actions(auditor, principal=str(alice.principal.pk)) == ALICE


def test_another_person_s_events_stay_out(auditor, people):
    assert actions(auditor, principal=f"#{people['bob'].principal.pk}") == ["auth.sign_in", "mfa.verify"]


def test_the_page_shows_them(auditor, people, client):
    client.force_login(auditor)
    response = client.get(reverse("audit:list"), {"principal": "alice", "action": "auth."})
    assert sorted(e.action for e in response.context["page"].events) == ["auth.sign_in", "auth.sign_in_failed"]

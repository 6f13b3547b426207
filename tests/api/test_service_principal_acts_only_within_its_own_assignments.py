from datetime import timedelta

from django.utils import timezone

from assignments.models import Assignment
from audit.models import AuditEvent


def _assign(persona, scope, *, role="reader", kind="active", days=7, principal=None):
    return persona.client().post("/api/v1/assignments/", {
        "principal": principal, "role": role, "scope": scope, "kind": kind,
        "end_at": (timezone.now() + timedelta(days=days)).isoformat(), "justification": "pipeline"}, format="json")


def test_assigns_within_its_scope_and_is_audited_as_itself(world, sp_p, directory):
    target = directory.user("target")
    response = _assign(sp_p, "/subscriptions/s1/resourceGroups/rg1", principal=target.principal.pk)
    assert response.status_code == 201, response.json()
    created = Assignment.objects.get(pk=response.json()["id"])
    assert created.created_by is None  # not a person
    event = AuditEvent.objects.get(action="api.write", outcome="success")
    assert event.principal_id == sp_p.principal.pk
    assert event.after["token_id"] and event.target_id == str(created.pk)


def test_refused_outside_its_scope_and_for_directory_roles(world, sp_p, directory):
    target = directory.user("target")
    outside = _assign(sp_p, "/subscriptions/s2", principal=target.principal.pk)
    assert outside.status_code == 403
    directory_role = _assign(sp_p, "/", role="global-administrator", principal=target.principal.pk)
    assert directory_role.status_code == 403
    assert not Assignment.objects.filter(principal=target.principal).exists()
    assert AuditEvent.objects.filter(action="api.write", outcome="denied").count() == 2


def test_cannot_activate_what_is_not_its_own(world, sp_p, requester_p):
    # A service principal activates only its own eligibility, where the policy allows it (see
    # test_service_principal_requests_activation_where_the_policy_allows_and_a_person_approves).
    from .conftest import eligible_of

    theirs = eligible_of(requester_p, "helpdesk-administrator")
    response = sp_p.client().post("/api/v1/requests/", {"action": "self_activate", "assignment": theirs.pk,
                                                        "duration_minutes": 60}, format="json")
    assert response.status_code == 403
    assert "service principal" in response.json()["error"]["message"]


def test_sees_only_assignments_within_its_scope(world, sp_p, directory):
    other = directory.user("other")
    directory.grant(other, "reader", "/subscriptions/s2")
    inside = directory.grant(other, "reader", "/subscriptions/s1/resourceGroups/rg1")
    ids = {a["id"] for a in sp_p.client().get("/api/v1/assignments/").json()["results"]}
    assert inside.pk in ids
    assert not Assignment.objects.filter(pk__in=ids, scope__path="/subscriptions/s2").exists()
    assert not Assignment.objects.filter(pk__in=ids, role__kind="directory").exclude(
        principal=sp_p.principal).exists()


def test_loses_its_powers_when_its_assignment_ends(world, sp_p, directory):
    import time_machine

    target = directory.user("target")
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        response = _assign(sp_p, "/subscriptions/s1", principal=target.principal.pk)
    assert response.status_code == 403


def test_a_personal_write_is_audited_with_the_token(world, admin_p, directory):
    target = directory.user("target")
    response = _assign(admin_p, "/", role="exchange-administrator", kind="eligible", principal="target")
    assert response.status_code == 201, response.json()
    event = AuditEvent.objects.get(action="api.write")
    assert event.actor_id == admin_p.user.pk
    assert "token #" in event.message
    assert AuditEvent.objects.filter(action="assignment.create", actor_id=admin_p.user.pk,
                                     principal_id=target.principal.pk).exists()

"""A member a SCIM client sends is a permanent active Member assignment with origin `directory`,
audited with the client as the actor. Memberships PIM manages (an eligible membership, a time-bound
active one) are never replaced or ended by the client's add, remove, replace, PUT or DELETE."""

from datetime import timedelta

from django.utils import timezone

from assignments.models import Assignment, Principal
from audit.models import AuditEvent

from .conftest import Scim, group_body, make_client, user_body

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _setup(directory):
    _, token = make_client("Okta")
    scim = Scim(token)
    ids = [scim.post("Users", user_body(f"{name}@example.com", externalId=name))[1]["id"] for name in ("ann", "ben")]
    status, group = scim.post("Groups", group_body("Engineering", externalId="eng"))
    assert status == 201
    return scim, ids, group["id"], Principal.objects.get(object_id=group["id"])


def test_a_member_sent_by_the_client_is_a_permanent_active_directory_membership(directory):
    scim, (ann, _), group_id, group = _setup(directory)
    status, body = scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": ann}]}]})
    assert status == 200
    membership = Assignment.objects.get(scope__group=group, status="live")
    assert (membership.kind, membership.origin, membership.end_at, membership.role.slug) == (
        "active", "directory", None, "group-member")
    event = AuditEvent.objects.get(action="assignment.create", target_id=str(membership.pk))
    assert event.actor_label == "system:scim (Okta)"
    # Adding again changes nothing.
    events = AuditEvent.objects.count()
    assert scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": ann}]}]})[0] == 200
    assert Assignment.objects.filter(scope__group=group).count() == 1
    assert AuditEvent.objects.count() == events


def test_pim_managed_memberships_survive_every_change_the_client_makes(directory):
    scim, (ann, ben), group_id, group = _setup(directory)
    ann_p, ben_p = Principal.objects.get(object_id=ann), Principal.objects.get(object_id=ben)
    time_bound = directory.add_member(group, ann_p, end=timezone.now() + timedelta(days=3))
    eligible = directory.add_member(group, ben_p, kind="eligible")

    # The client adds Ann (she already holds a live active membership: it is not replaced) and Ben.
    status, body = scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": ann}, {"value": ben}]}]})
    assert status == 200
    ben_directory = Assignment.objects.get(scope__group=group, principal=ben_p, origin="directory", status="live")
    for change in (
        {"op": "remove", "path": f'members[value eq "{ann}"]'},
        {"op": "remove", "path": "members", "value": [{"value": ben}]},
        {"op": "replace", "path": "members", "value": []},
        {"op": "remove", "path": "members"},
    ):
        assert scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [change]})[0] == 200
    assert scim.put(f"Groups/{group_id}", group_body("Engineering", externalId="eng"))[0] == 200
    assert scim.delete(f"Groups/{group_id}")[0] == 204

    for assignment in (time_bound, eligible):
        assignment.refresh_from_db()
        assert assignment.status == Assignment.Status.LIVE, assignment
    ben_directory.refresh_from_db()
    assert ben_directory.status == Assignment.Status.ENDED  # the client's own membership did end


def test_members_must_be_users_this_client_provisioned(directory):
    scim, (ann, _), group_id, group = _setup(directory)
    stranger = directory.user("stranger")
    other_group = scim.post("Groups", group_body("Other"))[1]["id"]
    for value in (str(stranger.principal.object_id), other_group, "not-an-id"):
        status, body = scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": ann}, {"value": value}]}]})
        assert status == 400 and body["scimType"] == "invalidValue", body
    # All or nothing: Ann was not added either.
    assert not Assignment.objects.filter(scope__group=group, status="live").exists()

"""A provisioning client lists, reads and changes only the users and groups it provisioned. A user
made in the portal (from no directory source) with the same userName is linked on POST, audited, and
from then on managed by that client."""

from assignments.models import Principal
from audit.models import AuditEvent

from .conftest import Scim, group_body, make_client, user_body

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_two_clients_do_not_see_each_other(directory):
    _, entra_token = make_client("Entra ID")
    _, okta_token = make_client("Okta")
    entra, okta = Scim(entra_token), Scim(okta_token)
    ann = entra.post("Users", user_body("ann@example.com"))[1]["id"]
    group = entra.post("Groups", group_body("Entra group", members=[ann]))[1]["id"]
    directory.user("portal.only")

    assert [r["id"] for r in entra.get("Users")[1]["Resources"]] == [ann]
    assert okta.get("Users")[1]["totalResults"] == 0
    assert okta.get("Groups")[1]["totalResults"] == 0
    assert okta.get(f"Users/{ann}")[0] == 404
    assert okta.patch(f"Users/{ann}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": False}]})[0] == 404
    assert okta.delete(f"Groups/{group}")[0] == 404
    own = okta.post("Groups", group_body("Okta group"))[1]["id"]
    status, body = okta.patch(f"Groups/{own}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": ann}]}]})
    assert status == 400
    assert Principal.objects.get(object_id=ann).enabled


def test_a_portal_user_of_the_same_name_is_linked_and_brought_in_line(directory):
    existing = directory.user("carla@example.com")
    _, token = make_client("Entra ID")
    scim = Scim(token)
    status, body = scim.post("Users", user_body("Carla@example.com", displayName="Carla Diaz", externalId="c-1"))
    assert status == 201, body
    principal = Principal.objects.select_related("user").get(object_id=body["id"])
    assert principal.user.pk == existing.pk
    assert (principal.external_source, principal.external_id) == (f"scim:{principal.scim_resource.client_id}", "c-1")
    assert principal.display_name == "Carla Diaz" and principal.user.username == "Carla@example.com"
    link = AuditEvent.objects.get(action="user.link", target_id=str(existing.pk))
    assert link.actor_label == "system:scim (Entra ID)"


def test_a_deleted_user_provisioned_again_is_the_same_person_enabled_again(directory):
    _, token = make_client("Entra ID")
    scim = Scim(token)
    first = scim.post("Users", user_body("rehire@example.com", externalId="r-1"))[1]["id"]
    assert scim.delete(f"Users/{first}")[0] == 204
    status, body = scim.post("Users", user_body("rehire@example.com", externalId="r-1"))
    assert status == 201 and body["id"] == first and body["active"] is True
    assert Principal.objects.select_related("user").get(object_id=first).user.is_active

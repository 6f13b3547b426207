"""The account's email address receives MFA enrolment codes and security notices. A session that
knows only the password must not point it at another mailbox (allauth's "manage email addresses"
page would let it add an address and make it primary): the address comes from the directory."""

from assignments.models import User


def test_adding_and_making_primary_another_address_is_refused(client, directory, requester):
    client.force_login(requester)
    assert client.get("/accounts/email/").status_code == 403
    client.post("/accounts/email/", {"action_add": "", "email": "thief@evil.example"})
    response = client.post("/accounts/email/", {"action_primary": "", "email": "thief@evil.example"})
    assert response.status_code == 403 and b"ask a directory administrator" in response.content
    assert User.objects.get(pk=requester.pk).email == "requester@example.com"

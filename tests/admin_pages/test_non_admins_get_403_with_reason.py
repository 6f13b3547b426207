from django.urls import reverse


def test_requester_without_admin_role_gets_403_with_a_reason_on_every_admin_page(directory, requester, login):
    client = login(requester)
    role = directory.role("exchange-administrator")
    for url in (reverse("assignments:list"), reverse("assignments:assign"), reverse("assignments:role_settings"),
                reverse("assignments:principals"), reverse("assignments:role_setting", args=[role.pk]),
                reverse("assignments:elevate")):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Access denied" in response.content.decode()
    assert "needs an active administering role" in client.get(reverse("assignments:assign")).content.decode()
    assert client.get(reverse("assignments:principal_search") + "?q=a").status_code == 403
    assert client.post(reverse("assignments:make_active_bulk"), {"ids": ["1"]}).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(db):
    from django.test import Client

    response = Client().get(reverse("assignments:list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_reader_may_not_remove_and_is_told_what_role_it_needs(directory, login):
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    assignment = directory.grant(directory.user(), "exchange-administrator", kind="eligible")
    response = login(reader).post(reverse("assignments:remove", args=[assignment.pk]))
    assert response.status_code == 403
    content = response.content.decode()
    assert "Global Administrator" in content and "Privileged Role Administrator" in content
    assignment.refresh_from_db()
    assert assignment.status == "live"


def test_resource_owner_cannot_assign_directory_roles_from_the_form(directory, login):
    owner = directory.user("owner")
    directory.grant(owner, "owner", "/subscriptions/s1")
    target = directory.user("target")
    response = login(owner).post(reverse("assignments:assign"), {
        "principal": target.principal.pk, "role": directory.role("exchange-administrator").pk, "scope": "/",
        "kind": "eligible", "permanent": "on",
    })
    assert response.status_code == 403
    assert "You are not allowed to manage Exchange Administrator" in response.content.decode()
    assert not target.principal.assignments.exists()

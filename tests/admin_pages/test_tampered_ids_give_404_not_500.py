import pytest
from django.urls import reverse

from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

HUGE = 99999999999999999999


@pytest.mark.parametrize("name", ["detail", "update", "extend", "renew", "make_active", "remove"])
def test_unknown_or_huge_assignment_ids_are_404(directory, pra_client, name):
    for pk in (424242, HUGE):
        assert pra_client.get(reverse(f"assignments:{name}", args=[pk])).status_code == 404
    assert pra_client.get(f"/manage/assignments/abc/{'' if name == 'detail' else name + '/'}").status_code == 404


def test_assignment_the_user_may_not_see_is_404_even_for_a_post(directory, login):
    owner = directory.user("owner")
    directory.grant(owner, "owner", "/subscriptions/s1")
    elsewhere = directory.grant(directory.user(), "reader", "/subscriptions/s2", kind="eligible")
    client = login(owner)
    assert client.get(reverse("assignments:detail", args=[elsewhere.pk])).status_code == 404
    assert client.post(reverse("assignments:remove", args=[elsewhere.pk])).status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.status == "live"


def test_unknown_role_scope_and_principal_pages_are_404(directory, pra_client):
    role = directory.role("exchange-administrator")
    assert pra_client.get(reverse("assignments:role_setting", args=[HUGE])).status_code == 404
    assert pra_client.get(reverse("assignments:role_setting", args=[role.pk]) + "?scope=/nope").status_code == 404
    assert pra_client.get(reverse("assignments:principal", args=[HUGE])).status_code == 404


def test_tampered_form_values_are_form_errors_not_500(directory, pra_client):
    role = directory.role("exchange-administrator")
    response = pra_client.post(reverse("assignments:assign"), {
        "principal": "abc", "role": HUGE, "scope": "/not/a/scope", "kind": "boss", "permanent": "on",
        "start_at": "yesterday-ish",
    })
    content = response.content.decode()
    assert response.status_code == 400
    assert "That principal does not exist." in content
    assert "That role does not exist." in content
    assert "There is no scope /not/a/scope." in content

    settings_page = pra_client.post(reverse("assignments:role_setting", args=[role.pk]), {
        "scope": "/", "max_activation_minutes": "lots", "approvals_required": "1", "approval_window_minutes": "60",
        "expire_eligible_after": "P99Y", "expire_active_after": "P1M", "approvers": ["abc", HUGE],
    })
    assert settings_page.status_code == 400

    bulk = pra_client.post(reverse("assignments:make_active_bulk"), {"ids": ["1", "x"]}, follow=True)
    assert bulk.status_code == 200
    assert "The selection was not understood." in bulk.content.decode()

    search = pra_client.get(reverse("assignments:principal_search") + "?q=%00%27&kinds=nonsense")
    assert search.status_code == 200
    scopes = pra_client.get(reverse("assignments:scope_search") + "?q=%00")
    assert scopes.status_code == 200
    picker = pra_client.post(reverse("assignments:assign"), {"principal_q": "a\x00", "scope": "/\x00",
                                                             "scope_q": "\x00", "_search": "scope"})
    assert picker.status_code == 200
    assert pra_client.get(reverse("assignments:role_setting", args=[role.pk]) + "?scope=/%00").status_code == 404
    listing = pra_client.get(reverse("assignments:list") + "?q=%00&scope=%00")
    assert listing.status_code == 400


def test_absurd_dates_are_form_errors(directory, pra_client):
    from assignments import services

    role = directory.role("helpdesk-administrator")
    services.role_setting_update(actor=SETUP, role=role, scope=directory.root,
                                 values={"allow_permanent_eligible": False, "expire_eligible_after": "P1Y"})
    response = pra_client.post(reverse("assignments:assign"), {
        "principal": directory.user().principal.pk, "role": role.pk, "scope": "/", "kind": "eligible",
        "start_at": "9999-12-31T00:00", "end_at": "9999-12-31T23:00",
    })
    assert response.status_code == 400
    assert "Enter a date between the years 2000 and 2999." in response.content.decode()

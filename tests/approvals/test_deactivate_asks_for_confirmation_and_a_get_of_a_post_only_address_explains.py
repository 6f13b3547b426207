"""Deactivate asks first: My roles links to a confirmation page, and only its POST ends the role.
A GET of an address that only takes a form's POST answers with a page that says nothing was changed
and links back (before: Django's empty 405)."""

import uuid
from datetime import timedelta

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assignments.models import Assignment


def test_my_roles_links_to_a_confirmation_and_only_its_post_deactivates(directory, requester, policy, eligible,
                                                                        activate):
    policy("helpdesk-administrator")
    activation = activate(requester, eligible(requester)).assignment
    client = Client()
    client.force_login(requester)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        url = reverse("approvals:deactivate", args=[activation.pk])
        roles = client.get(reverse("approvals:my_roles")).content.decode()
        assert f'href="{url}"' in roles and f'action="{url}"' not in roles  # a link to ask, not a form that acts

        confirm = client.get(url)
        assert confirm.status_code == 200
        html = confirm.content.decode()
        assert "Deactivate Helpdesk Administrator?" in html and "Deactivate now" in html and "Keep it" in html
        activation.refresh_from_db()
        assert activation.status == Assignment.Status.LIVE  # asking changes nothing

        done = client.post(url, {"justification": "done early"})
        assert done.status_code == 302
        activation.refresh_from_db()
        assert activation.status == Assignment.Status.ENDED


def test_someone_elses_activation_has_no_confirmation_page(directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator")
    activation = activate(requester, eligible(requester)).assignment
    client = Client()
    client.force_login(directory.user("other"))
    assert client.get(reverse("approvals:deactivate", args=[activation.pk])).status_code == 403


def test_a_get_of_a_post_only_address_explains_and_links_back(directory, requester):
    client = Client()
    client.force_login(requester)
    approve = reverse("approvals:approve", args=[uuid.uuid4()])
    from_page = "http://testserver" + reverse("approvals:queue")

    response = client.get(approve, HTTP_REFERER=from_page)

    assert response.status_code == 405 and "POST" in response["Allow"]
    html = response.content.decode()
    assert "Nothing was changed" in html and f'href="{from_page}"' in html

    elsewhere = client.get(approve, HTTP_REFERER="https://evil.example/phish")
    assert 'href="https://evil.example/phish"' not in elsewhere.content.decode()
    assert 'class="button" href="/"' in elsewhere.content.decode()


def test_administrative_addresses_explain_too_but_the_api_does_not(directory, requester):
    client = Client()
    client.force_login(requester)
    response = client.get(reverse("assignments:make_active_bulk"))
    assert response.status_code == 405 and b"Nothing was changed" in response.content
    api = client.delete("/api/v1/")  # not a page: no HTML explanation
    assert b"Nothing was changed" not in api.content

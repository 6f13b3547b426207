"""MFA step-up keeps what was typed: an activation refused for want of a fresh verification sends the
person to verify, and the activation page comes back filled in; one click (a normal POST with CSRF)
activates. Nothing is submitted for them, the kept form is for that page only, for a while, and bounded."""

from datetime import timedelta

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assignments.models import Assignment
from tests.conftest import mark_mfa_verified


def _setup(directory, requester, policy, eligible):
    policy("helpdesk-administrator", require_mfa_on_activation=True, require_ticket_on_activation=True,
           max_activation_minutes=240)
    eligibility = eligible(requester)
    client = Client(enforce_csrf_checks=False)
    client.force_login(requester)
    return eligibility, client


FORM = {"duration_minutes_hours": "1", "duration_minutes_minutes": "30", "justification": "incident 4711 on mail",
        "ticket_system": "ServiceNow", "ticket_number": "INC0042"}


def _activations(requester):
    return Assignment.objects.filter(principal=requester.principal, kind="active", activated_from__isnull=False)


def test_after_verifying_the_form_is_filled_in_and_one_click_activates(directory, requester, policy, eligible):
    eligibility, client = _setup(directory, requester, policy, eligible)
    url = reverse("approvals:activate", args=[eligibility.pk])
    data = {**FORM, "scope": str(eligibility.scope_id)}

    refused = client.post(url, data)
    assert refused.status_code == 302 and refused["Location"].startswith(reverse("accounts:verify"))
    assert "next=" in refused["Location"]
    assert not _activations(requester).exists()

    mark_mfa_verified(client)  # what the step-up page does
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "incident 4711 on mail" in html and 'value="INC0042"' in html and 'value="ServiceNow"' in html
    assert 'name="duration_minutes_hours" value="1"' in html and 'name="duration_minutes_minutes" value="30"' in html
    assert not _activations(requester).exists()  # shown, not submitted

    done = client.post(url, data)  # the one click
    assert done.status_code == 302
    activation = _activations(requester).get()
    assert activation.end_at - activation.start_at == timedelta(minutes=90)
    assert activation.justification == "incident 4711 on mail"


def test_the_kept_form_is_shown_once_and_only_on_its_own_page(directory, requester, policy, eligible):
    eligibility, client = _setup(directory, requester, policy, eligible)
    other = directory.grant(requester, "exchange-administrator", kind="eligible")
    url = reverse("approvals:activate", args=[eligibility.pk])
    client.post(url, {**FORM, "scope": str(eligibility.scope_id)})
    mark_mfa_verified(client)

    assert "incident 4711" not in client.get(reverse("approvals:activate", args=[other.pk])).content.decode()
    assert "incident 4711" in client.get(url).content.decode()
    assert "incident 4711" not in client.get(url).content.decode()  # used up


def test_the_kept_form_expires(directory, requester, policy, eligible):
    eligibility, client = _setup(directory, requester, policy, eligible)
    url = reverse("approvals:activate", args=[eligibility.pk])
    client.post(url, {**FORM, "scope": str(eligibility.scope_id)})
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        mark_mfa_verified(client)
        assert "incident 4711" not in client.get(url).content.decode()


def test_an_oversized_submission_is_not_kept(directory, requester, policy, eligible):
    eligibility, client = _setup(directory, requester, policy, eligible)
    url = reverse("approvals:activate", args=[eligibility.pk])
    response = client.post(url, {**FORM, "scope": str(eligibility.scope_id), "padding": "x" * 20_000}, follow=True)
    assert "too large to keep" in response.content.decode()
    mark_mfa_verified(client)
    assert "incident 4711" not in client.get(url).content.decode()
    assert "pim_step_up_form" not in client.session

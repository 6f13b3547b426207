"""The shared error summary is on every form page: an empty submission comes back 400 with one
summary (role="alert") whose links land on the fields, and each field's own error beside it."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.models import Target
from reviews import services as reviews_services
from tests.conftest import mark_mfa_verified


def _check(response):
    assert response.status_code == 400
    html = response.content.decode()
    summaries = re.findall(r'<div class="error-summary" role="alert".*?</ul>', html, re.S)
    assert len(summaries) == 1, html[-3000:]
    links = re.findall(r'href="#([^"]+)"', summaries[0])
    assert links
    for target in links:
        assert f'id="{target}"' in html, target
    assert 'class="errorlist"' in html


@pytest.mark.parametrize("name", ["assignments:assign", "assignments:group_create",
                                  "assignments:service_principal_create"])
def test_admin_forms(directory, pra_client, name):
    _check(pra_client.post(reverse(name), {"kind": "eligible"} if name == "assignments:assign" else {}))


def test_self_service_forms(client, directory, requester, later):
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible", end=later(days=3))
    client.force_login(requester)
    _check(client.post(reverse("approvals:activate", args=[eligibility.pk]), {"scope": eligibility.scope_id}))
    _check(client.post(reverse("approvals:extend", args=[eligibility.pk]), {}))


def test_sign_in_form(client, directory):
    _check(client.post(reverse("account_login"), {}))


def test_api_token_forms(client, directory, role_admin):
    client.force_login(role_admin)
    _check(client.post(reverse("api:tokens"), {"for": "personal", "name": "", "days": "12"}))
    _check(client.post(reverse("api:tokens"), {"for": "service_principal", "service_principal": "0", "name": ""}))


def test_backup_codes_refusal_is_summarised_on_its_page(client, directory, requester):
    client.force_login(requester)
    mark_mfa_verified(client)
    response = client.post(reverse("accounts:backup_codes"))
    assert response.status_code == 403
    html = response.content.decode()
    assert html.count('<div class="error-summary" role="alert"') == 1
    assert "Enrol an authenticator app before creating backup codes." in html


def test_integration_detail_forms(directory, pra_client):
    now = timezone.now()
    webhook = Target.objects.create(name="SIEM", kind="webhook", created_at=now, updated_at=now, config={
        "url": "https://hooks.example.com/pim", "event_types": ["assignment.created"]})
    _check(pra_client.post(reverse("connectors:target_create", args=["scim"]), {"name": "Payroll",
                                                                               "config_base_url": "not a url"}))
    _check(pra_client.post(reverse("connectors:target", args=[webhook.pk]), {"name": "SIEM", "config_url": "not a url",
                                                                             "config_event_types": ["user.signed_in"]}))


@pytest.mark.parametrize(("name", "query"), [
    ("audit:list", {"date_from": "2026-05-02", "date_to": "2026-05-01", "outcome": "nonsense"}),
    ("assignments:list", {"role": "999999", "state": "nonsense"}),
    ("assignments:principals", {"kind": "nonsense", "q": "a\x00"}),
    ("alerts:incidents", {"status": "nonsense", "severity": "nonsense"}),
    ("assignments:role_setting_open", {"role": "999999", "scope": "/not/a/scope"}),
])
def test_list_filter_forms(directory, pra_client, name, query):
    _check(pra_client.get(reverse(name), query))


def test_access_review_filter_forms(directory, pra_client, role_admin, global_admin):
    spec = reviews_services.ReviewSettings(name="Quarterly", scope=directory.root,
                                           start_date=timezone.now().date(), duration_days=14,
                                           reviewer_ids=[role_admin.principal.pk])
    review = reviews_services.review_create(actor=global_admin, roles=[directory.role("security-administrator")],
                                            spec=spec, mfa_verified_at=timezone.now())[0]
    instance = review.instances.get(sequence=1)
    assert reviews_services.review_instance_start(instance=instance)
    for url in (reverse("reviews:instance", args=[instance.pk]), reverse("reviews:mine_instance", args=[instance.pk])):
        _check(pra_client.get(url, {"decision": "nonsense", "kind": "nonsense"}))

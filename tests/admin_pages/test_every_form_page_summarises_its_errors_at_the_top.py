"""The shared error summary is on every form page: an empty submission comes back 400 with one
summary (role="alert") whose links land on the fields, and each field's own error beside it."""

import re

import pytest
from django.urls import reverse


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

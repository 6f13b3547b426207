"""The activation form's scopes: where the person is eligible or narrower, and only where the role can
be held. A directory role eligible at `/` is offered `/` alone (before: every scope of the directory,
all but one refused); a resource role is not offered groups. Every offered scope activates."""

import re

from django.urls import reverse

from approvals.models import Request


def _offered(client, eligibility) -> list[str]:
    html = client.get(reverse("approvals:activate", args=[eligibility.pk])).content.decode()
    select = html.split('name="scope"')[1].split("</select>")[0]
    return re.findall(r'<option value="(\d+)"', select)


def test_a_directory_role_is_offered_the_root_alone(client, directory, requester, policy, eligible):
    directory.scope("/subscriptions/s1/resourceGroups/rg1")
    directory.group("Ops")
    policy("helpdesk-administrator")
    client.force_login(requester)
    assert _offered(client, eligible(requester)) == [str(directory.root.pk)]


def test_every_offered_scope_of_a_resource_role_activates(client, directory, requester, policy, eligible):
    rg = directory.scope("/subscriptions/s1/resourceGroups/rg1")
    directory.scope("/subscriptions/s2")
    policy("contributor")
    eligibility = eligible(requester, "contributor", "/subscriptions/s1")
    client.force_login(requester)
    offered = _offered(client, eligibility)
    assert set(offered) == {str(eligibility.scope_id), str(rg.pk)}
    for scope_id in offered:
        response = client.post(reverse("approvals:activate", args=[eligibility.pk]), {
            "scope": scope_id, "duration_minutes_hours": "1", "duration_minutes_minutes": "0",
            "justification": "x"})
        assert response.status_code == 302, response.content.decode()[-2000:]
    assert Request.objects.filter(action="self_activate", status="provisioned").count() == len(offered)

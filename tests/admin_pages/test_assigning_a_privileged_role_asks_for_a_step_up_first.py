"""Assigning a privileged role (RoleDefinition labelled privileged) from the page needs a fresh MFA
verification: the administrator is sent through the step-up with the form kept, and the assignment is
made when they submit again. A role without the label is assigned without one."""

from urllib.parse import parse_qs, urlparse

from django.urls import reverse

from assignments.models import Assignment
from tests.conftest import mark_mfa_verified


def test_global_administrator_needs_step_up_and_exchange_administrator_does_not(directory, role_admin, login):
    client = login(role_admin, verified_mfa=False)
    target = directory.user("target")
    ga = directory.role("global-administrator")
    data = {"principal": target.principal.pk, "role": ga.pk, "scope": "/", "kind": "eligible", "permanent": "on",
            "justification": "New hire in the platform team"}

    refused = client.post(reverse("assignments:assign"), data)
    assert refused.status_code == 302
    location = urlparse(refused["Location"])
    assert location.path == "/account/verify/"
    back = client.get(parse_qs(location.query)["next"][0])
    assert back.context["form"].initial["justification"] == "New hire in the platform team"
    assert not Assignment.objects.filter(principal=target.principal).exists()

    plain = dict(data, role=directory.role("exchange-administrator").pk)
    assert client.post(reverse("assignments:assign"), plain).status_code == 302
    assert Assignment.objects.filter(principal=target.principal, role__slug="exchange-administrator").exists()

    mark_mfa_verified(client)
    done = client.post(reverse("assignments:assign"), data)
    assert done.status_code == 302 and "/account/verify/" not in done["Location"]
    assert Assignment.objects.filter(principal=target.principal, role=ga, kind="eligible").exists()

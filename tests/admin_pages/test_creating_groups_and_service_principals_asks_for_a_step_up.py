"""Directory changes (a group, a service principal) are privileged administrative changes: the creation
pages ask for a fresh MFA verification first and keep what was typed."""

from urllib.parse import parse_qs, urlparse

from django.urls import reverse

from assignments.models import Principal
from tests.conftest import mark_mfa_verified


def test_group_and_service_principal_creation_go_through_step_up(directory, role_admin, login):
    client = login(role_admin, verified_mfa=False)
    url = reverse("assignments:group_create")
    assert "you will be asked to verify" in client.get(url).content.decode()

    refused = client.post(url, {"display_name": "Tier-0 admins", "role_assignable": "on"})
    assert refused.status_code == 302
    location = urlparse(refused["Location"])
    assert location.path == "/account/verify/" and parse_qs(location.query)["next"] == [url]
    assert not Principal.objects.filter(display_name="Tier-0 admins").exists()
    assert client.get(url).context["form"]["display_name"].value() == "Tier-0 admins"

    sp_url = reverse("assignments:service_principal_create")
    assert client.post(sp_url, {"display_name": "deploy-bot"}).status_code == 302
    assert not Principal.objects.filter(display_name="deploy-bot").exists()

    mark_mfa_verified(client)
    assert client.post(url, {"display_name": "Tier-0 admins", "role_assignable": "on"}).status_code == 302
    assert Principal.objects.get(display_name="Tier-0 admins").role_assignable
    client.post(sp_url, {"display_name": "deploy-bot"})
    assert Principal.objects.filter(display_name="deploy-bot", kind=Principal.Kind.SERVICE_PRINCIPAL).exists()

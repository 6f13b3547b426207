"""A role whose activation is limited to trusted networks checks the client's address behind the
reverse proxy (PIM_TRUSTED_PROXIES), not the proxy's own, and not a value the client forged."""

from django.test import override_settings

from assignments import services
from tests.conftest import SETUP

from .conftest import eligible_of

PROXY = "10.0.0.2"


@override_settings(PIM_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_activation_from_the_office_behind_the_proxy(world, directory, requester_p):
    services.role_setting_update(actor=SETUP, role=directory.role("helpdesk-administrator"), scope=directory.root,
                                 values={"trusted_networks": "203.0.113.0/24"})
    eligible = eligible_of(requester_p, "helpdesk-administrator")
    body = {"action": "self_activate", "assignment": eligible.pk, "duration_minutes": 60, "justification": "x",
            "ticket_system": "jira", "ticket_number": "OPS-1"}

    def post(forwarded):
        return requester_p.client().post("/api/v1/requests/", body, format="json", REMOTE_ADDR=PROXY,
                                         HTTP_X_FORWARDED_FOR=forwarded)

    forged = post("203.0.113.5, 198.51.100.7")
    assert forged.status_code == 403, forged.json()
    allowed = post("203.0.113.5")
    assert allowed.status_code == 201, allowed.json()

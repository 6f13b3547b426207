"""Making privileged roles active in bulk asks for one step-up first (instead of refusing every row),
and works once the session is verified."""

from urllib.parse import urlparse

from django.urls import reverse

from assignments.models import Assignment
from tests.conftest import mark_mfa_verified


def test_bulk_make_active_of_global_administrator_goes_through_step_up(directory, role_admin, login):
    client = login(role_admin, verified_mfa=False)
    eligible = [directory.grant(directory.user(f"ga{i}"), "global-administrator", kind="eligible") for i in range(2)]
    data = {"ids": [a.pk for a in eligible], "justification": "Rollback of PIM"}

    refused = client.post(reverse("assignments:make_active_bulk"), data)
    assert refused.status_code == 302 and urlparse(refused["Location"]).path == "/account/verify/"
    assert Assignment.objects.filter(pk__in=data["ids"], status="live", kind="eligible").count() == 2

    mark_mfa_verified(client)
    done = client.post(reverse("assignments:make_active_bulk"), data)
    assert done.status_code == 200
    assert all(row["done"] for row in done.context["rows"])

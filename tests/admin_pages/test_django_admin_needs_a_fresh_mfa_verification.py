"""The Django admin asks for the same fresh MFA verification as an activation that requires MFA."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice


@pytest.fixture(autouse=True)
def _authenticator(global_admin):
    TOTPDevice.objects.create(user=global_admin, name="phone", confirmed=True)


def _step_up_target(response) -> tuple[str, list[str]]:
    """Where a followed response ended: the path and its `next`."""
    last = urlparse(response.redirect_chain[-1][0]) if response.redirect_chain else urlparse("")
    return last.path, parse_qs(last.query).get("next", [])


def test_a_global_administrator_without_a_verification_is_sent_to_step_up_and_back(directory, global_admin, login):
    client = login(global_admin, verified_mfa=False)
    response = client.get("/admin/assignments/assignment/", follow=True)
    assert response.status_code == 200
    assert _step_up_target(response) == (reverse("accounts:verify"), ["/admin/assignments/assignment/"])


def test_a_verification_older_than_the_freshness_window_is_not_enough(directory, global_admin, fresh_login):
    stale = fresh_login(global_admin, minutes_ago=11)
    assert _step_up_target(stale.get("/admin/", follow=True)) == (reverse("accounts:verify"), ["/admin/"])
    assert fresh_login(global_admin, minutes_ago=9).get("/admin/").status_code == 200

"""Password reset by email is off by default when single sign-on is configured and on otherwise;
PIM_PASSWORD_RESET sets it either way (a strict boolean). While it is off the sign-in page offers no
"Forgot your password?", every page of the flow answers 404 with a page that says so, and nothing is
sent or changed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse

from notifications.models import OutboxMessage

ROOT = Path(__file__).resolve().parents[2]


def _setting(tmp_path, **env_extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "PIM_", "OIDC_"))}
    env.update({"PIM_VAR_DIR": str(tmp_path), **env_extra})
    code = "from django.conf import settings; print(settings.PIM_PASSWORD_RESET)"
    return subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "True"),
    ({"OIDC_SERVER_URL": "https://idp.example.com"}, "False"),
    ({"OIDC_SERVER_URL": "https://idp.example.com", "PIM_PASSWORD_RESET": "1"}, "True"),
    ({"PIM_PASSWORD_RESET": "off"}, "False"),
])
def test_the_default_follows_sso_and_the_variable_overrides_it(tmp_path, env, expected):
    result = _setting(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_a_misspelt_value_stops_the_start(tmp_path):
    result = _setting(tmp_path, PIM_PASSWORD_RESET="ture")
    assert result.returncode != 0
    assert "PIM_PASSWORD_RESET='ture' is not a boolean" in result.stderr


@override_settings(PIM_PASSWORD_RESET=False)
def test_while_off_no_link_no_page_and_nothing_sent(client, directory, requester):
    assert "Forgot your password?" not in client.get(reverse("account_login")).content.decode()

    for url in (reverse("account_reset_password"), reverse("account_reset_password_done"),
                reverse("account_reset_password_from_key", kwargs={"uidb36": "1", "key": "abc-def"}),
                reverse("account_reset_password_from_key_done")):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Password reset is not available" in response.content.decode()
    response = client.post(reverse("account_reset_password"), {"email": "requester@example.com"})

    assert response.status_code == 404
    assert not OutboxMessage.objects.exists()


@override_settings(PIM_PASSWORD_RESET=True)
def test_while_on_the_sign_in_page_offers_it(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert f'href="{reverse("account_reset_password")}"' in page and "Forgot your password?" in page

"""The OIDC_* variables become the provider's allauth settings and its sign-in policy: PKCE on,
accounts and groups not created, no groups mapped, unless the variables say otherwise; a misspelt
boolean stops the start (pim_portal.settings.env_bool)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW = ("import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.SOCIALACCOUNT_PROVIDERS['openid_connect']['APPS'][0]['settings']))")


def _settings(tmp_path, **env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "PIM_", "OIDC_"))}
    env.update({"PIM_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "pim_portal.settings",
                "OIDC_SERVER_URL": "https://login.example.com/realms/corp", **env_extra})
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_defaults_create_nothing_and_use_pkce(tmp_path):
    result = _settings(tmp_path)
    assert result.returncode == 0, result.stderr
    app = json.loads(result.stdout)
    assert app["oauth_pkce_enabled"] is True and app["scope"] == ["openid", "profile", "email"]
    assert (app["create_users"], app["create_groups"], app["groups_claim"]) == (False, False, "")
    assert app["create_users_domains"] == [] and app["email_verified_claim"] == "email_verified"


def test_variables_set_the_policy(tmp_path):
    result = _settings(tmp_path, OIDC_CREATE_USERS="1", OIDC_CREATE_USERS_DOMAINS="corp.example, corp.test",
                       OIDC_GROUPS_CLAIM="groups", OIDC_CREATE_GROUPS="true", OIDC_SCOPES="openid profile email groups",
                       OIDC_EMAIL_VERIFIED_CLAIM="xms_edov")
    assert result.returncode == 0, result.stderr
    app = json.loads(result.stdout)
    assert (app["create_users"], app["create_groups"], app["groups_claim"]) == (True, True, "groups")
    assert app["create_users_domains"] == ["corp.example", "corp.test"]
    assert app["scope"] == ["openid", "profile", "email", "groups"] and app["email_verified_claim"] == "xms_edov"


def test_a_misspelt_boolean_stops_the_start(tmp_path):
    result = _settings(tmp_path, OIDC_CREATE_USERS="ture")
    assert result.returncode != 0 and "OIDC_CREATE_USERS='ture' is not a boolean" in result.stderr

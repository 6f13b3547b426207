"""Settings that would silently weaken production refuse to start with a message naming the variable:
an empty DJANGO_SECRET_KEY, and a boolean variable with a value that is not a boolean (a typo such as
DJANGO_SECURE_SSL_REDIRECT=ture used to read as false and turn the redirect off)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from pim_portal.settings import env_bool

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 20 + "-production-secret-" + "y" * 30,
              "DJANGO_ALLOWED_HOSTS": "pim.example.com"}


def _check(tmp_path, **env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "PIM_"))}
    env.update({"PIM_VAR_DIR": str(tmp_path), **PRODUCTION, **env_extra})
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_an_empty_secret_key_is_refused(tmp_path):
    result = _check(tmp_path, DJANGO_SECRET_KEY="  ")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is empty" in result.stderr


def test_a_misspelt_ssl_redirect_stops_the_start(tmp_path):
    result = _check(tmp_path, DJANGO_SECURE_SSL_REDIRECT="ture")
    assert result.returncode != 0
    assert "DJANGO_SECURE_SSL_REDIRECT='ture' is not a boolean" in result.stderr


@pytest.mark.parametrize("value", ["ture", "flase", "2", "", "enabled"])
def test_a_boolean_with_an_unknown_value_is_refused(monkeypatch, value):
    monkeypatch.setenv("PIM_SOME_FLAG", value)
    with pytest.raises(ImproperlyConfigured, match=f"PIM_SOME_FLAG={value!r} is not a boolean"):
        env_bool("PIM_SOME_FLAG", True)


@pytest.mark.parametrize("value, expected", [("0", False), ("false", False), ("No", False), (" OFF ", False),
                                             ("1", True), ("true", True), ("Yes", True), ("on", True)])
def test_the_usual_spellings_are_accepted_and_unset_is_the_default(monkeypatch, value, expected):
    monkeypatch.setenv("PIM_SOME_FLAG", value)
    assert env_bool("PIM_SOME_FLAG", not expected) is expected
    monkeypatch.delenv("PIM_SOME_FLAG")
    assert env_bool("PIM_SOME_FLAG", expected) is expected

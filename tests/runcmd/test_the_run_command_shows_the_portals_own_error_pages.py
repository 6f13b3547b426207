"""The run command runs with DEBUG off (as production does, static files from collectstatic through
WhiteNoise): an unknown URL is the portal's own 404 page, not Django's debug page listing every URL
pattern; 400, 403 and 500 are the portal's pages too."""

import os
import subprocess
import sys

from django.test import Client
from django.urls import path

from pim_portal.urls import urlpatterns as portal_urls

CHECK = """
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
call_command("collectstatic", interactive=False, verbosity=0)  # as the run command does
from django.test import Client
r = Client(HTTP_HOST="127.0.0.1").get("/no/such/page/")
body = r.content.decode()
print(settings.DEBUG, r.status_code, "Page not found" in body, "URLconf" in body)
"""


def test_the_run_environment_turns_debug_off_and_an_unknown_url_is_the_portals_404(run_script, tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PIM_", "CELERY_", "DATABASE_"))}
    environ["PIM_VAR_DIR"] = str(tmp_path / "var")
    env = run_script.run_environment(environ)
    assert env["DJANGO_DEBUG"] == "0"
    assert (tmp_path / "var" / "secret-key").stat().st_mode & 0o077 == 0  # the key is the owner's alone
    assert run_script.run_environment(environ)["DJANGO_SECRET_KEY"] == env["DJANGO_SECRET_KEY"]  # kept
    env["DJANGO_SETTINGS_MODULE"] = "pim_portal.settings"
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=run_script.ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["False", "404", "True", "False"]


def test_an_unknown_url_is_the_portals_404(db):
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_a_request_for_another_host_is_the_portals_400(db):
    response = Client(HTTP_HOST="evil.example").get("/")
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()


def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _boom), *portal_urls]


def test_an_error_is_the_portals_500(db, settings):
    settings.ROOT_URLCONF = __name__
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_a_forbidden_page_is_the_portals_403(directory, client):
    user = directory.user("plain")
    client.force_login(user)
    response = client.get("/audit/")
    assert response.status_code == 403
    assert "Access denied" in response.content.decode()

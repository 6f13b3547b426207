"""Started as the README says (from the project root, so gunicorn reads gunicorn.conf.py), the web
server does not announce its product and version in the Server header."""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.jobs.conftest import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent


def _get(url):
    try:
        return httpx.get(url, timeout=2)
    except httpx.TransportError:
        return None


def test_server_header_names_no_product_or_version(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "PIM_"))}
    env.update({"PIM_VAR_DIR": str(tmp_path), "PIM_WEB_WORKERS": "1"})
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen([str(gunicorn), "pim_portal.wsgi:application", "--bind", f"127.0.0.1:{port}"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        response = wait_until(lambda: process.poll() is None and _get(f"http://127.0.0.1:{port}/static/css/portal.css"),
                              timeout=60, what="gunicorn to answer")
        assert response.status_code == 200
        server = response.headers.get("server", "")
        assert "gunicorn" not in server.lower() and not any(ch.isdigit() for ch in server), server
    finally:
        process.terminate()
        process.wait(timeout=30)

"""`manage.py check --deploy` warns when the audit signing key is derived from the secret key, and when
several web workers (PIM_WEB_WORKERS or WEB_CONCURRENCY) would each keep their own rate-limit counters
because PIM_CACHE_URL is not set."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 20 + "-production-secret-" + "y" * 30,
              "DJANGO_ALLOWED_HOSTS": "pim.example.com"}


def _deploy_check(tmp_path, **env_extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "DATABASE_URL", "PIM_", "WEB_CONCURRENCY"))}
    env.update({"PIM_VAR_DIR": str(tmp_path), **PRODUCTION, **env_extra})
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    return result.stdout + result.stderr


def test_a_derived_audit_signing_key_is_reported(tmp_path):
    assert "pim_portal.W001" in _deploy_check(tmp_path)
    assert "pim_portal.W001" not in _deploy_check(tmp_path, PIM_AUDIT_SIGNING_KEY="k" * 64)


def test_several_workers_without_a_shared_cache_are_reported(tmp_path):
    assert "pim_portal.W002" not in _deploy_check(tmp_path)
    assert "pim_portal.W002" in _deploy_check(tmp_path, PIM_WEB_WORKERS="4")
    assert "pim_portal.W002" in _deploy_check(tmp_path, WEB_CONCURRENCY="3")
    assert "pim_portal.W002" not in _deploy_check(tmp_path, PIM_WEB_WORKERS="4",
                                                  PIM_CACHE_URL="redis://127.0.0.1:6379/1")

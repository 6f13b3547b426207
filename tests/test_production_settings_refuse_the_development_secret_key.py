import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _check(env_extra, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_debug_off_without_secret_key_refuses_to_start():
    result = _check({"DJANGO_DEBUG": "0"})
    assert result.returncode != 0
    assert "refusing to run on the development key" in result.stderr


def test_deploy_check_passes_with_production_variables(tmp_path):
    result = _check(
        {
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "x" * 20 + "-production-secret-" + "y" * 30,
            "DJANGO_ALLOWED_HOSTS": "pim.example.com",
            "PIM_AUDIT_SIGNING_KEY": "a" * 20 + "-audit-signing-key-" + "b" * 30,
            "PIM_VAR_DIR": str(tmp_path),
            "PIM_AUDIT_WITNESS": "syslog+tcp://loghost.example.com:514",
        },
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr

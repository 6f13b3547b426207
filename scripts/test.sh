#!/usr/bin/env bash
# Run the checks and the test suite. Uses SQLite and an in-memory broker unless DATABASE_URL /
# CELERY_BROKER_URL point at PostgreSQL / Redis (as in CI); tests that need those skip without them,
# or fail with PIM_REQUIRE_SERVICES=1.
set -euo pipefail
cd "$(dirname "$0")/.."
# The checks and the suite start Python many times (the linters, one process per pytest worker,
# `manage.py` and Celery subprocesses): let them reuse compiled bytecode (in the ignored __pycache__).
unset PYTHONDONTWRITEBYTECODE
scripts/venv.sh requirements-dev.txt
.venv/bin/ruff check .
.venv/bin/lint-imports  # the apps' layers and the other import contracts in pyproject.toml
.venv/bin/python manage.py makemigrations --check --dry-run -v0 || {
  echo "Model changes without a migration: run .venv/bin/python manage.py makemigrations" >&2; exit 1; }
# In parallel on every core (pytest-xdist: one process and one test database per worker; tests marked
# `serial` run alone, see tests/conftest.py). A later `-n` in the arguments wins, so
# `make test ARGS="-n 0 tests/foo"` runs a subset serially in this process.
exec .venv/bin/pytest -n "${PIM_TEST_WORKERS:-auto}" --dist worksteal "$@"

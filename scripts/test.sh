#!/usr/bin/env bash
# Run the checks and the test suite. Uses SQLite and an in-memory broker unless DATABASE_URL /
# CELERY_BROKER_URL point at PostgreSQL / Redis (as in CI); tests that need those skip without them,
# or fail with PIM_REQUIRE_SERVICES=1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh requirements-dev.txt
.venv/bin/ruff check .
.venv/bin/lint-imports  # the apps' layers and the other import contracts in pyproject.toml
.venv/bin/python manage.py makemigrations --check --dry-run -v0 || {
  echo "Model changes without a migration: run .venv/bin/python manage.py makemigrations" >&2; exit 1; }
exec .venv/bin/pytest "$@"

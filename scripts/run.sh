#!/usr/bin/env bash
# Run the portal on its embedded defaults: web server, Celery worker and beat, demo data.
# Everything it writes (SQLite database, broker queue, emails, logs, the secret key) is under var/
# (or $PIM_VAR_DIR). scripts/run.py sets up, then supervises the web server and the worker: a child
# that stops is reported (which, why, its last log lines) and started again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh requirements.txt
exec .venv/bin/python scripts/run.py

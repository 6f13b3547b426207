#!/usr/bin/env bash
# Run the portal on its embedded defaults: web server, Celery worker and beat, demo data.
# Everything it writes (SQLite database, broker queue, emails) is under var/ (or $PIM_VAR_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh requirements.txt
py=.venv/bin/python
host="${PIM_HOST:-127.0.0.1}"
port="${PIM_PORT:-8000}"
export PIM_SITE_URL="${PIM_SITE_URL:-http://$host:$port}"
var="${PIM_VAR_DIR:-var}"
mkdir -p "$var/log"

$py manage.py migrate --noinput -v0
$py manage.py pim_demo_data | tee "$var/log/demo-logins.txt"
$py manage.py collectstatic --noinput -v0

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "Stopping the portal ..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

.venv/bin/celery -A pim_portal worker --beat --concurrency 2 --loglevel INFO \
  --schedule "$var/celerybeat-schedule" >"$var/log/worker.log" 2>&1 &
pids+=($!)
.venv/bin/gunicorn pim_portal.wsgi:application --bind "$host:$port" --workers 2 --threads 4 \
  --access-logfile "$var/log/access.log" --error-logfile "$var/log/web.log" &
pids+=($!)

cat <<MSG

  PIM portal is running at $PIM_SITE_URL/
  Demo logins are listed above (also in $var/log/demo-logins.txt).
  Emails are written to $var/mail/ (MFA enrolment codes too), logs to $var/log/. Press Ctrl+C to stop.

MSG
wait -n "${pids[@]}"

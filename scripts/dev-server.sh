#!/usr/bin/env bash
# `make run`: the whole service on the embedded default, in one terminal.
#   - SQLite, migrated, with demo data (idempotent),
#   - localstripe (the Stripe emulator) on :8420, our webhook registered with it,
#   - the background worker (emails, refunds, housekeeping),
#   - the development server on $HOST:$PORT.
# Ctrl+C stops all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
STRIPE_PORT=${STRIPE_PORT:-8420}
export STRIPE_API_BASE=${STRIPE_API_BASE:-http://127.0.0.1:$STRIPE_PORT}

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

$PY manage.py migrate --noinput
$PY manage.py seed_demo

$PY -m localstripe --port "$STRIPE_PORT" > .localstripe.log 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
  curl -fs "$STRIPE_API_BASE/js.stripe.com/v3/" >/dev/null 2>&1 && break
  sleep 0.2
done
$PY - <<PYEOF
import urllib.parse, urllib.request
from config import settings
data = urllib.parse.urlencode({
    "url": "http://$HOST:$PORT/api/v1/payments/stripe/webhook/",
    "secret": settings.STRIPE_WEBHOOK_SECRET,
}).encode()
urllib.request.urlopen("$STRIPE_API_BASE/_config/webhooks/boxoffice", data=data, timeout=5).close()
print("localstripe: $STRIPE_API_BASE (webhook registered)")
PYEOF

$PY manage.py worker --interval 1 &
pids+=($!)

cat <<MSG

  boxoffice is starting on http://$HOST:$PORT
  Swagger UI: http://$HOST:$PORT/api/docs/    ReDoc: http://$HOST:$PORT/api/redoc/
  Admin site: http://$HOST:$PORT/admin/
  Logins:     admin / boxoffice-admin      customer / boxoffice-customer
  Pay a held booking from another terminal:  .venv/bin/python manage.py pay_booking <id>

MSG
$PY manage.py runserver "$HOST:$PORT"

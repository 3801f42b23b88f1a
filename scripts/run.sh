#!/usr/bin/env bash
# README command 1: set up everything on a fresh Debian 12 machine and run the API and a worker.
source "$(dirname "$0")/lib.sh"
setup_all
cd "$ROOT"
npx tsx services/db/migrate-cli.ts
export PORT=${PORT:-3000} HOST=${HOST:-127.0.0.1}
npx tsx workers/grading-worker.ts &
worker=$!
npx tsx services/api/server.ts &
api=$!
trap 'kill $api $worker 2>/dev/null; wait' INT TERM EXIT
for _ in $(seq 1 60); do curl -fs "http://$HOST:$PORT/health" >/dev/null 2>&1 && break; sleep 0.5; done
echo
echo "  grader is running:  http://$HOST:$PORT   (API docs: http://$HOST:$PORT/docs)"
echo "  admin API key:      ${ADMIN_API_KEY:-dev-admin-key-change-me}"
echo
wait -n $api $worker

#!/usr/bin/env bash
# README command 2: set up what the tests need (same steps as run.sh) and run the whole suite
# against real Postgres, Redis and Docker. Prints a plain "N passed, N failed" line at the end.
source "$(dirname "$0")/lib.sh"
setup_all
cd "$ROOT"
export DATABASE_URL=${TEST_DATABASE_URL:-${DATABASE_URL%/*}/grader_test}
export NODE_ENV=test LOG_LEVEL=${LOG_LEVEL:-silent}
npx tsc -p tsconfig.json
mkdir -p artifacts
rm -f artifacts/security-cases.jsonl
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=artifacts/vitest.json "$@"
rc=$?
set -e
npx tsx scripts/security-report.ts || true
node -e '
  const r = JSON.parse(require("fs").readFileSync("artifacts/vitest.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit $rc

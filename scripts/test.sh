#!/usr/bin/env bash
# README command 2: set up what the tests need (same steps as run.sh) and run the whole suite
# against real Postgres, Redis and Docker. Prints a plain "N passed, N failed" line at the end.
source "$(dirname "$0")/lib.sh"
setup_all
cd "$ROOT"
export DATABASE_URL=${TEST_DATABASE_URL:-${DATABASE_URL%/*}/grader_test}
export NODE_ENV=test LOG_LEVEL=${LOG_LEVEL:-silent}
npx tsc -p tsconfig.json
npm run --silent lint:imports
npm run --silent lint
mkdir -p artifacts
rm -f artifacts/security-cases.jsonl artifacts/vitest-engine.json artifacts/vitest-runsc.json artifacts/pytest.xml
set +e
rc=0
if [ $# -eq 0 ]; then
  # The harness's own tests on the host (identities, the zygote, input disguise, lint, tracer).
  /usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml=artifacts/pytest.xml tests/harness || rc=1
fi
npx vitest run --reporter=default --reporter=json --outputFile.json=artifacts/vitest.json "$@" || rc=1
if [ $# -eq 0 ]; then
  # The sandbox and adversarial suites again under gVisor (lib.sh registers runsc with dockerd).
  runsc_files=()
  for f in tests/integration/sandbox-security.test.ts tests/integration/adversarial.test.ts; do [ -f "$f" ] && runsc_files+=("$f"); done
  if [ ${#runsc_files[@]} -gt 0 ]; then # no file at all would mean the whole suite again
    SANDBOX_RUNTIME=runsc npx vitest run --reporter=default --reporter=json --outputFile.json=artifacts/vitest-runsc.json "${runsc_files[@]}" || rc=1
  fi
  # Last, on its own: this case stops and restarts the local Docker engine.
  GRADER_ENGINE_FAULTS=1 npx vitest run --reporter=default --reporter=json --outputFile.json=artifacts/vitest-engine.json tests/engine-faults || rc=1
fi
set -e
npx tsx scripts/security-report.ts || true
node -e '
  const fs = require("fs");
  const files = ["artifacts/vitest.json", "artifacts/vitest-runsc.json", "artifacts/vitest-engine.json"].filter((f) => fs.existsSync(f));
  const sum = (k) => files.reduce((n, f) => n + JSON.parse(fs.readFileSync(f, "utf8"))[k], 0);
  // pytest writes JUnit: count its cases in too.
  let py = { passed: 0, failed: 0, skipped: 0 };
  if (fs.existsSync("artifacts/pytest.xml")) {
    const x = fs.readFileSync("artifacts/pytest.xml", "utf8");
    const attr = (n) => Number((x.match(new RegExp(`<testsuite[^>]* ${n}="(\\d+)"`)) || [])[1] || 0);
    py = { failed: attr("failures") + attr("errors"), skipped: attr("skipped") };
    py.passed = attr("tests") - py.failed - py.skipped;
  }
  console.log(`${sum("numPassedTests") + py.passed} passed, ${sum("numFailedTests") + py.failed} failed, ${sum("numPendingTests") + sum("numTodoTests") + py.skipped} skipped`);
' || true
exit $rc

#!/usr/bin/env bash
# `npm test`: make sure the real components the tests drive are installed, build, run vitest.
# The Debian packages are installed when missing (as root); otherwise the exact apt-get line is
# printed and the run fails, so a missing package is never a silently skipped test.
#   npm test                      everything: fast suites in parallel, then the VM lab on its own
#   npm test -- test/power        only what the arguments select (vitest filters)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "test: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

npm run build

results=.test-results
rm -rf "$results" && mkdir -p "$results"
status=0
run() { # NAME, vitest arguments...
  local name=$1; shift
  npx vitest run --reporter=default --reporter=json --outputFile="$results/$name.json" "$@" || status=1
}
if [ $# -gt 0 ]; then
  run selected "$@"
else
  # The lab boots VMs under TCG and is CPU-bound: it runs after the rest, alone.
  run suites --exclude 'test/e2e/**'
  run lab test/e2e --maxWorkers=1
fi

# A closing summary over every run, for people and CI: each failure, then one count line.
node -e '
  const fs = require("fs"); let p = 0, f = 0, s = 0;
  for (const file of fs.readdirSync(process.argv[1])) {
    const r = JSON.parse(fs.readFileSync(process.argv[1] + "/" + file, "utf8"));
    p += r.numPassedTests; f += r.numFailedTests; s += r.numPendingTests + r.numTodoTests;
    // CI keeps only the tail of the output: name each failure here, where it is kept.
    const first = (m) => String(m ?? "").split("\n")[0].slice(0, 300);
    for (const t of r.testResults) {
      const path = t.name.replace(process.cwd() + "/", "");
      const failed = t.assertionResults.filter((a) => a.status === "failed");
      for (const a of failed) console.log(`FAILED ${path} > ${a.fullName}: ${first(a.failureMessages?.[0])}`);
      if (t.status === "failed" && failed.length === 0) console.log(`FAILED ${path}: ${first(t.message)}`);
    }
  }
  console.log(`${p} passed, ${f} failed` + (s ? `, ${s} skipped` : ""));
' "$results"
exit $status

#!/usr/bin/env bash
# `npm test`: make sure the real components the tests drive are installed, build, run vitest.
# The Debian packages are installed when missing (as root); otherwise the exact apt-get line is
# printed and the run fails, so a missing package is never a silently skipped test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "test: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

npm run build
exec npx vitest run "$@"

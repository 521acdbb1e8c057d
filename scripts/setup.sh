#!/usr/bin/env bash
# Installs everything the demo and the tests need, pinned and cached under .cache/ (idempotent:
# a second run only checks). Then builds the TypeScript sources into dist/ and bundles the CLI
# into dist/job/.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v node >/dev/null || { echo "Node.js 20.19+ is required" >&2; exit 1; }
if [[ ! -f node_modules/.package-lock.json ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi

# Each install script is pinned and skips itself when already current.
for script in scripts/install/[a-z]*.sh; do
  [[ "$script" == scripts/install/lib.sh ]] && continue
  bash "$script"
done

npx tsc -p tsconfig.json
# The CLI as the job image ships it (one file plus lazily loaded chunks): tests and benches run this.
node scripts/bundle.mjs

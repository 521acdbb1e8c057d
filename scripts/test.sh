#!/usr/bin/env bash
# The test command: installs what is missing, builds, then runs every test with Node's test runner
# against real servers started on loopback. Usage: scripts/test.sh [test-file-filter]
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# The formatter's check (Prettier, .prettierrc.json): `npm run format` fixes what it reports.
npm run --silent format:check || { echo "some sources are not formatted: run npm run format" >&2; exit 1; }
filter="${1:-}"
mapfile -t files < <(find dist/test -name '*.test.js' | sort | grep -- "$filter")
[[ ${#files[@]} -gt 0 ]] || { echo "no test files match '$filter'" >&2; exit 1; }
export PATH="${STACKBACKUP_TOOLS:-$PWD/.cache/tools}/bin:$PATH"
exec node --test --test-concurrency=1 --test-reporter=spec "${files[@]}"

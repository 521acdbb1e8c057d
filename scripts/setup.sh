#!/usr/bin/env bash
# Installs what the demo or the tests need, pinned and cached under .cache/ (or $STACKBACKUP_TOOLS;
# idempotent: a second run only checks). Then builds the TypeScript sources into dist/ (not for the
# demo) and bundles the CLI into dist/job/.
# Usage: scripts/setup.sh [demo]   (demo: only what ./scripts/demo.sh runs; no argument: everything)
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
profile="${1:-all}"

command -v node >/dev/null || { echo "Node.js 20.19+ is required" >&2; exit 1; }
if [[ ! -f node_modules/.package-lock.json ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi

# Each install script is pinned and skips itself when already current.
case "$profile" in
  demo) scripts=(restic victoria-metrics elasticsearch stackgraph-standin) ;;
  all) scripts=() ; for s in scripts/install/[a-z]*.sh; do s="${s##*/}"; [[ $s == lib.sh ]] || scripts+=("${s%.sh}"); done ;;
  *) echo "usage: scripts/setup.sh [demo]" >&2; exit 2 ;;
esac
for name in "${scripts[@]}"; do
  bash "scripts/install/$name.sh"
done

# Type-checks and compiles src/, test/ and bench/ into dist/ (incremental: an unchanged tree takes a
# second). The demo needs only the bundle, which esbuild makes from the sources directly.
[[ "$profile" == demo ]] || npx tsc -p tsconfig.json
# The CLI as the job image ships it (one file plus lazily loaded chunks): tests, benches and the demo run this.
node scripts/bundle.mjs
# The container images (scripts/images/): the job image and the test cluster's, as OCI archives under
# $STACKBACKUP_TOOLS/images, built from what was installed and bundled above (not for the demo; a
# second run only checks their cache keys).
if [[ "$profile" == all ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    bash scripts/images/build.sh
  else
    echo "[setup] container images not built: scripts/images/build.sh needs root (run: sudo scripts/images/build.sh); the image tests will fail until then" >&2
  fi
fi

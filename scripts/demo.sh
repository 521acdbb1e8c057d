#!/usr/bin/env bash
# The local demo: installs what is missing, builds, then backs up and restores sample data on the
# embedded default storage (a local folder; set STACKBACKUP_S3_ENDPOINT and credentials to use S3),
# printing what it did.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh demo
export PATH="${STACKBACKUP_TOOLS:-$PWD/.cache/tools}/bin:$PATH"
exec node dist/job/stackbackup.mjs demo "$@"

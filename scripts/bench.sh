#!/usr/bin/env bash
# Benchmarks: each prints its ratio against a baseline measured in the same run.
# Usage: scripts/bench.sh [storage|memory|status-scan|...]   (BENCH_SIZE_MIB, BENCH_ROUNDS tune the storage bench;
#   BENCH_MEMORY_GIB the memory bench, default 1,4,16; BENCH_BACKUPS, BENCH_ROUNDS, BENCH_CPU_PROFILE the status-scan bench)
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh >/dev/null
which="${1:-all}"
for bench in dist/bench/*.js; do
  name="$(basename "$bench" .js)"
  [[ "$name" == *-child ]] && continue
  [[ "$which" == all || "$which" == "$name" ]] || continue
  node "$bench"
done

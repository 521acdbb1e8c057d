#!/usr/bin/env bash
# The health of every backup target in one table (or --json): newest complete backup, its age and
# size, how many are kept, incomplete leftovers, the last run and its result, the next run, and a
# state (ok, stale, failing, never, paused). Runs `stackbackup status` in a Job from the chart's status
# template; the state comes from the buckets and the Jobs. Exit code non-zero when any target is not ok.
SB_USAGE="Usage: $(basename "$0") [--json] [options]

Shows the state of every backup target (StackGraph, each Victoria Metrics instance, Elasticsearch,
each claim): ok, stale (no complete backup within twice the schedule's interval), failing (last run
failed, or the bucket or endpoint cannot be read), never (no complete backup) or paused.
  --json        machine-readable output
Exits 0 when every target is ok, 1 otherwise."
# shellcheck source=restore/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
json=false
args=()
for arg in "$@"; do
  if [[ "$arg" == --json || "$arg" == -json ]]; then json=true; else args+=("$arg"); fi
done
sb_parse_options "${args[@]}"
sb_expect_args 0 0
sb_run_job status status "backup.enabled=true status.enabled=true" "STATUS_JSON=$json"

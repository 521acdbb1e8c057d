#!/usr/bin/env bash
# Lists the complete StackGraph backups in the bucket, newest first, one name a line (as StackState
# prints them), or as a table with size and age (-l). Backups whose upload was cut off are never listed.
SB_USAGE="Usage: $(basename "$0") [-l] [options]

Lists the StackGraph backups (sts-backup-YYYYMMDD-HHMM.graph), newest first, one a line.
  -l            a table with size, age and the time each backup was taken (UTC)
Restore one with: ./restore/restore-stackgraph-backup.sh NAME [-force]"
# shellcheck source=restore/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
sb_parse_list_options "$@"
sb_run_job stackgraph-list stackgraph-list-backups \
  "backup.enabled=true backup.stackGraph.enabled=true backup.stackGraph.restore.enabled=true" \
  "STACKBACKUP_LIST_FORMAT=$SB_LIST_FORMAT"
sb_info "=== To restore a backup: ./restore/restore-stackgraph-backup.sh NAME [-force]"

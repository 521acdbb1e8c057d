#!/usr/bin/env bash
# Lists the Elasticsearch snapshots in snapshot repository "sts-backup", newest first, one name a line
# (as StackState prints them), or as a table with state, index count, start, end and size (-l).
SB_USAGE="Usage: $(basename "$0") [-l] [options]

Lists the Elasticsearch snapshots (sts-backup-YYYYMMDD-HHMM-<suffix>), newest first, one a line.
  -l            a table with state, index count, start and end time (UTC) and size
Restore one with: ./restore/restore-elasticsearch-snapshot.sh NAME [\"index1,index2\"] [-force]"
# shellcheck source=restore/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
sb_parse_list_options "$@"
sb_run_job elasticsearch-list elasticsearch-list-snapshots \
  "backup.enabled=true backup.elasticsearch.enabled=true backup.elasticsearch.restore.enabled=true" \
  "STACKBACKUP_ES_LIST_FORMAT=$SB_LIST_FORMAT"
sb_info "=== To restore a snapshot: ./restore/restore-elasticsearch-snapshot.sh NAME [\"index1,index2\"] [-force]"

#!/usr/bin/env bash
# Lists the Victoria Metrics backup versions of every instance with backups or restores enabled, one a
# line: `instance version "last completed backup time"`. A version whose last backup was cut off is
# shown as INCOMPLETE and cannot be restored.
SB_USAGE="Usage: $(basename "$0") [options]

Lists the backup versions of every Victoria Metrics instance (victoria-metrics-N), as
  victoria-metrics-0 victoria-metrics-0-20240105101500 \"2024-01-05 11:25:04 UTC\"
Restore one with: ./restore/restore-victoria-metrics-backup.sh INSTANCE VERSION"
# shellcheck source=restore/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
sb_parse_options "$@"
sb_expect_args 0 0
sb_info "=== Listing Victoria Metrics backups..."
sb_run_job victoria-metrics-list victoria-metrics-list "backup.enabled=true victoria-metrics-0.backup.enabled=true"
sb_info "=== To restore a version: ./restore/restore-victoria-metrics-backup.sh INSTANCE VERSION"

#!/usr/bin/env bash
# Lists the restic snapshots of every backed-up claim (or of CLAIM), newest first: claim, snapshot ID,
# time (UTC) and owner. Restore one with ./restore/restore-volume-backup.sh CLAIM SNAPSHOT.
SB_USAGE="Usage: $(basename "$0") [CLAIM] [options]

Lists the volume snapshots of every claim, or of CLAIM, newest first, as
  CLAIM        SNAPSHOT  TIME                     OWNER
  claim-alice  4762d792  2024-03-01 04:37:00 UTC  alice
Restore one with: ./restore/restore-volume-backup.sh CLAIM SNAPSHOT [TARGET_CLAIM] [-force]"
# shellcheck source=restore/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
sb_parse_options "$@"
sb_expect_args 0 1
claim="${SB_ARGS[0]:-}"
[[ -z "$claim" ]] || sb_validate claim-name "$claim" "claim name"
sb_info "=== Listing volume snapshots${claim:+ of claim $claim}..."
sb_run_job volume-list volume-list "backup.enabled=true backup.volumes.enabled=true backup.volumes.restore.enabled=true" "STACKBACKUP_VOLUME_CLAIM=$claim"
sb_info "=== To restore one: ./restore/restore-volume-backup.sh CLAIM SNAPSHOT [TARGET_CLAIM] [-force]   (SNAPSHOT \"latest\" is the claim's newest)"

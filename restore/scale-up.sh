#!/usr/bin/env bash
# Scales the deployments and statefulsets that a restore scaled down back to the replica counts they
# had before (recorded in the annotation stackbackup.io/replicas-before-restore).
SB_USAGE="Usage: $(basename "$0") [-l SELECTOR]

Scales every deployment and statefulset in the namespace that a restore script scaled down back to
the replica count recorded before the restore, and removes the record.
  -l SELECTOR   only workloads matching this label selector"
# shellcheck source=restore/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
sb_parse_options "$@"
if (( ${#SB_ARGS[@]} > 0 )); then
  [[ "${SB_ARGS[0]}" == -l && ${#SB_ARGS[@]} == 2 ]] || sb_die "unexpected arguments: ${SB_ARGS[*]}" "$(sb_usage)" 2
fi
sb_scale_up "${SB_ARGS[@]}"

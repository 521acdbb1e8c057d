#!/usr/bin/env bash
# Restores indices of one Elasticsearch snapshot:
#   1. scales down the Deployments and StatefulSets that write to Elasticsearch (Helm value
#      backup.elasticsearch.restore.scaleDownLabelSelector; none when empty), recording their replicas;
#   2. restore Job: checks the snapshot name (an unknown one is answered with the available snapshots)
#      and the indices (default backup.elasticsearch.scheduled.indices), refuses indices that exist and
#      are open unless -force (then deletes or closes them first: backup.elasticsearch.restore.forceMode),
#      restores them and prints shards total/failed/successful;
#   3. scales the writers back to their recorded replica counts.
# A restore refused before anything changed (unknown name or index, open indices without -force) scales
# the writers straight back. A restore that failed after it started changing indices leaves them down
# and prints the commands to continue. The Job is removed on every exit, Ctrl-C included.
SB_USAGE="Usage: $(basename "$0") NAME [\"index1,index2\"] [-force] [options]

Restores indices of Elasticsearch snapshot NAME, as printed by ./restore/list-elasticsearch-snapshots.sh.
  \"index1,index2\"  indices or patterns to restore (default: the indices the snapshots are taken of)
  -force           replace indices that exist and are open (they are deleted, or closed, first)"
# shellcheck source=restore/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
sb_parse_options "$@"
sb_take_flags -force
sb_expect_args 1 2 "a snapshot name, optionally indices"
name="${SB_ARGS[0]}"
indices="${SB_ARGS[1]:-}"
force=false
if sb_flag -force; then force=true; fi
sb_validate backup-name "$name" "snapshot name"
[[ -z "$indices" ]] || sb_validate index-list "$indices" "index list"
values="backup.enabled=true backup.elasticsearch.enabled=true backup.elasticsearch.restore.enabled=true"

# The commands printed for the operator repeat the options this script was given.
again=""
[[ -z "$SB_NAMESPACE" ]] || again+=" --namespace $SB_NAMESPACE"
[[ -z "$SB_RELEASE" ]] || again+=" --release $SB_RELEASE"
shown_indices="${indices:+ \"$indices\"}"

# The writers to stop come from the restore template (Helm value backup.elasticsearch.restore.scaleDownLabelSelector).
sb_template_get elasticsearch-restore "$values" data scale-down-selector
selector="$SB_TEMPLATE_VALUE"
[[ -z "$selector" ]] || sb_validate selector "$selector" "scale-down selector (Helm value backup.elasticsearch.restore.scaleDownLabelSelector)"

phase=start
# On every exit, once the library has removed the Job: says where things stand, scales back what it may.
es_on_exit() {
  local rc="$1"
  (( rc != 0 )) && [[ "$phase" != restored ]] || return 0
  sb_info ""
  case "$phase" in
    start)
      sb_info "Nothing was restored and nothing was changed." ;;
    scaling-down)
      sb_info "Nothing was restored. Scaling back what was already stopped..."
      sb_scale_up -l "$selector" ;;
    restore)
      if (( rc == 2 || rc == 3 || rc == 8 )) || [[ -z "$selector" ]]; then
        if (( rc == 2 || rc == 3 || rc == 8 )); then sb_info "The restore was refused before any index was changed."; fi
        if [[ -n "$selector" ]]; then
          sb_info "=== Scaling the writers back to their recorded replica counts..."
          sb_scale_up -l "$selector"
        fi
      else
        sb_info "The snapshot was NOT fully restored. The workloads selected by $selector are left scaled down,"
        sb_info "so that nothing writes into half-restored indices. To continue, either:"
        sb_info "  fix the cause (see the output above) and restore again, replacing what is there:"
        sb_info "    ./restore/restore-elasticsearch-snapshot.sh $name$shown_indices -force$again"
        sb_info "  or bring the workloads back as they are, without a restore:"
        sb_info "    ./restore/scale-up.sh -l $selector$again"
      fi ;;
  esac
}
sb_on_exit es_on_exit
# Before anything is changed: the writers to stop exist.
[[ -z "$selector" ]] || sb_selected_workloads "$selector"

sb_info "=== Restoring ${indices:-the default indices} from Elasticsearch snapshot $name$([[ "$force" == true ]] && printf ' (-force: existing open indices are replaced)')"
if [[ -n "$selector" ]]; then
  sb_info "=== Stopping the workloads that write to Elasticsearch ($selector)..."
  phase=scaling-down
  sb_scale_down_selector "$selector"
fi
phase=restore
sb_run_job elasticsearch-restore elasticsearch-restore-snapshot "$values" \
  "STACKBACKUP_ES_SNAPSHOT=$name" "STACKBACKUP_ES_INDICES=$indices" "STACKBACKUP_ES_FORCE=$force"
phase=restored
if [[ -n "$selector" ]]; then
  sb_info "=== Restore done. Scaling the writers back to their recorded replica counts..."
  sb_scale_up -l "$selector"
fi
sb_info "=== Elasticsearch snapshot $name restored. List the snapshots again with ./restore/list-elasticsearch-snapshots.sh"

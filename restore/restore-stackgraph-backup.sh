#!/usr/bin/env bash
# Restores StackGraph from one backup:
#   1. fetch Job: checks the name (an unknown one is answered with the available backups), refuses a
#      non-empty StackGraph unless -force, then downloads the backup and verifies its SHA-256 onto a
#      claim created for this restore. Nothing is stopped yet, so a refusal changes nothing.
#   2. scales down the Deployments and StatefulSets connected to StackGraph (Helm value
#      backup.stackGraph.restore.scaleDownLabelSelector), recording their replica counts;
#   3. import Job: StackGraph's own import tool reads the verified backup (with its force flag on -force);
#   4. success: scales them back to the recorded counts. Failure: leaves them down (nothing should
#      write to a half-imported StackGraph) and prints the exact commands to continue.
# The claim and the Jobs are removed on every exit, Ctrl-C included.
SB_USAGE="Usage: $(basename "$0") NAME [-force] [options]

Restores StackGraph from backup NAME, as printed by ./restore/list-stackgraph-backups.sh.
  -force        replace the content of a StackGraph that is not empty
The workloads connected to StackGraph are stopped during the import."
# shellcheck source=restore/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
sb_parse_options "$@"
sb_take_flags -force
sb_expect_args 1 1 "a backup name"
name="${SB_ARGS[0]}"
force=false
if sb_flag -force; then force=true; fi
sb_validate backup-name "$name" "backup name"
values="backup.enabled=true backup.stackGraph.enabled=true backup.stackGraph.restore.enabled=true"

# The commands printed for the operator repeat the options this script was given.
again=""
[[ -z "$SB_NAMESPACE" ]] || again+=" --namespace $SB_NAMESPACE"
[[ -z "$SB_RELEASE" ]] || again+=" --release $SB_RELEASE"

# Settings from the chart: the scale-down selector (import template) and the restore claim (fetch template).
sb_template_get stackgraph-restore-import "$values" data scale-down-selector
selector="$SB_TEMPLATE_VALUE"
sb_validate selector "$selector" "scale-down selector (Helm value backup.stackGraph.restore.scaleDownLabelSelector)"
sb_template_get stackgraph-restore-fetch "$values" data claim.yaml
[[ -n "$SB_TEMPLATE_VALUE" ]] || sb_die "ConfigMap $SB_TEMPLATE_CONFIGMAP has no claim.yaml" "Upgrade the chart release."
printf '%s\n' "$SB_TEMPLATE_VALUE" >"$SB_TMP/claim.yaml"
claim="$("$SB_KUBECTL" create --dry-run=client --filename "$SB_TMP/claim.yaml" --output 'jsonpath={.metadata.name}')"
sb_validate k8s-name "$claim" "restore claim name"

phase=start
# On every exit, once the library has removed the Job (and before it removes the claim): says where things stand.
sg_on_exit() {
  (( $1 != 0 )) || return 0
  case "$phase" in
    start|fetch)
      sb_info ""
      sb_info "StackGraph was not restored. Nothing was changed: no workload was scaled down." ;;
    scaled-down)
      sb_info ""
      sb_info "StackGraph was NOT restored. The workloads selected by $selector are left scaled down,"
      sb_info "so that nothing works on a half-imported StackGraph. To continue, either:"
      sb_info "  fix the cause (see the output above) and import the backup again, replacing what is there:"
      sb_info "    ./restore/restore-stackgraph-backup.sh $name -force$again"
      sb_info "  or bring the workloads back as they were, without a restore:"
      sb_info "    ./restore/scale-up.sh -l $selector$again" ;;
  esac
}
sb_on_exit sg_on_exit
# Before anything is downloaded or changed: the workloads to stop exist.
sb_selected_workloads "$selector"

sb_info "=== Restoring StackGraph from $name$([[ "$force" == true ]] && printf ' (-force: a non-empty StackGraph is replaced)')"
if ! out="$(sb_kubectl create --filename "$SB_TMP/claim.yaml" --output name 2>&1)"; then
  if [[ "$out" == *AlreadyExists* || "$out" == *"already exists"* ]]; then
    sb_die "claim $claim already exists: another StackGraph restore is running, or one was cut off" \
      "If no restore is running, delete it and try again: kubectl delete pvc $claim" 1
  fi
  sb_die "cannot create the restore claim $claim: $out"
fi
sb_remove_on_exit "persistentvolumeclaim/$claim"

phase=fetch
sb_run_job stackgraph-restore-fetch stackgraph-restore-fetch "$values" "BACKUP_NAME=$name" "FORCE=$force"

sb_info "=== Stopping the workloads connected to StackGraph ($selector)..."
phase="scaled-down"
sb_scale_down_selector "$selector"

sb_info "=== Importing $name into StackGraph..."
sb_run_job stackgraph-restore-import stackgraph-restore "$values" "FORCE=$force"

phase=imported
sb_info "=== Import done. Scaling the workloads back to their recorded replica counts..."
sb_scale_up -l "$selector"
sb_info "=== StackGraph restored from $name."

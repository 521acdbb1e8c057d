#!/usr/bin/env bash
# Restores a snapshot of CLAIM into CLAIM, or into TARGET_CLAIM:
#   1. checks the arguments and that the target claim exists and no pod is using it (stop the user's
#      server first: a restore under a running notebook would mix files);
#   2. runs the restore Job from the chart's template with the target claim mounted: it resolves
#      SNAPSHOT among CLAIM's snapshots only ("latest" is CLAIM's newest, an ID of another claim's snapshot
#      is refused), refuses a non-empty target unless -force (which replaces its contents), restores;
#   3. removes the Job on every exit, Ctrl-C included (restore/lib/job.sh runs it).
SB_USAGE="Usage: $(basename "$0") CLAIM SNAPSHOT [TARGET_CLAIM] [-force] [options]

Restores SNAPSHOT (an ID as ./restore/list-volume-backups.sh prints it, or \"latest\": CLAIM's newest)
of CLAIM into CLAIM, or into TARGET_CLAIM. A target that is not empty is refused unless -force, which
replaces its contents. No pod may be using the target claim (stop the user's server first)."
# shellcheck source=restore/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
sb_parse_options "$@"
sb_take_flags -force
sb_expect_args 2 3 "a claim, a snapshot, optionally a target claim"
force=false
if sb_flag -force; then force=true; fi
claim="${SB_ARGS[0]}"
snapshot="${SB_ARGS[1]}"
target="${SB_ARGS[2]:-$claim}"
sb_validate claim-name "$claim" "claim name"
sb_validate snapshot-id "$snapshot" "snapshot"
sb_validate claim-name "$target" "target claim name"
values="backup.enabled=true backup.volumes.enabled=true backup.volumes.restore.enabled=true"
ns="$(sb_namespace)"

sb_kubectl get persistentvolumeclaim "$target" --output name >/dev/null 2>&1 \
  || sb_die "claim $target does not exist in namespace \"$ns\"" "Check the name with: kubectl get pvc. To restore into a new claim, create it first (same size or larger)." 3
users="$(sb_kubectl get pods --output 'jsonpath={range .items[*]}{.metadata.name}{"|"}{.status.phase}{"|"}{range .spec.volumes[*]}{.persistentVolumeClaim.claimName}{" "}{end}{"\n"}{end}')"
busy=()
while IFS='|' read -r pod phase claims; do
  [[ -n "$pod" && ( "$phase" == Running || "$phase" == Pending ) ]] || continue
  [[ " $claims " == *" $target "* ]] && busy+=("$pod")
done <<<"$users"
if (( ${#busy[@]} > 0 )); then
  sb_die "claim $target is in use by pod(s) ${busy[*]}; restoring under a running workload would mix files" \
    "Stop them first (JupyterHub: stop the user's server in the admin panel), then rerun this command." 8
fi

sb_info "=== Restoring snapshot $snapshot of claim $claim into claim $target$([[ "$force" == true ]] && printf ' (-force: its contents are replaced)')..."
# The chart's template mounts the "target" volume: the lib sets its claim.
sb_run_job volume-restore volume-restore "$values" "claim:target=$target" \
  "STACKBACKUP_VOLUME_CLAIM=$claim" "STACKBACKUP_VOLUME_SNAPSHOT=$snapshot" "STACKBACKUP_VOLUME_TARGET=$target" "STACKBACKUP_VOLUME_FORCE=$force"
sb_info "=== Claim $target restored from snapshot $snapshot of claim $claim. Start the workload that uses it again (JupyterHub: the user's server)."

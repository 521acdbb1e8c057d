#!/usr/bin/env bash
# Restores a snapshot of CLAIM into CLAIM, or into TARGET_CLAIM:
#   1. checks the arguments and that the target claim exists and no pod is using it (stop the user's
#      server first: a restore under a running notebook would mix files);
#   2. runs the restore Job from the chart's template with the target claim mounted: it resolves
#      SNAPSHOT among CLAIM's snapshots only ("latest" is CLAIM's newest, an ID of another claim's snapshot
#      is refused), refuses a non-empty target unless -force (which replaces its contents), restores;
#   3. removes the Job on every exit, Ctrl-C included.
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

# The restore Job: the chart's template with the settings as environment variables and the target claim
# as the "target" volume (a strategic merge patch by volume name, so nothing is pasted into YAML).
SB_RUN_ID="$(date -u +%Y%m%d%H%M%S)-$$-$RANDOM"
sb_find_template volume-restore "$values"
configmap="$SB_TEMPLATE_CONFIGMAP"
sb_kubectl get configmap "$configmap" --output 'go-template={{index .data "job.yaml"}}' >"$SB_TMP/template.yaml"
[[ -s "$SB_TMP/template.yaml" ]] || sb_die "ConfigMap $configmap has no job.yaml" "Reinstall or upgrade the chart release."
labels='"app.kubernetes.io/part-of":"stackbackup","stackbackup.io/created-by":"restore-script","stackbackup.io/run-id":"'"$SB_RUN_ID"'"'
if ! "$SB_KUBECTL" set env --local --filename "$SB_TMP/template.yaml" --output json \
      "STACKBACKUP_RUN_ID=$SB_RUN_ID" "STACKBACKUP_VOLUME_CLAIM=$claim" "STACKBACKUP_VOLUME_SNAPSHOT=$snapshot" \
      "STACKBACKUP_VOLUME_TARGET=$target" "STACKBACKUP_VOLUME_FORCE=$force" 2>"$SB_TMP/err" \
    | "$SB_KUBECTL" patch --local --filename - --type merge --output json \
      --patch "{\"metadata\":{\"name\":null,\"generateName\":\"volume-restore-$(date -u +%Y%m%dt%H%M%S)-\",\"labels\":{$labels}},\"spec\":{\"template\":{\"metadata\":{\"labels\":{$labels}}}}}" 2>>"$SB_TMP/err" \
    | "$SB_KUBECTL" patch --local --filename - --type strategic --output json \
      --patch "{\"spec\":{\"template\":{\"spec\":{\"volumes\":[{\"name\":\"target\",\"persistentVolumeClaim\":{\"claimName\":\"$target\"}}]}}}}" \
      >"$SB_TMP/job.json" 2>>"$SB_TMP/err"; then
  sb_die "the job template in ConfigMap $configmap is not a valid Job manifest: $(cat "$SB_TMP/err")" "Reinstall or upgrade the chart release."
fi

sb_info "=== Restoring snapshot $snapshot of claim $claim into claim $target$([[ "$force" == true ]] && printf ' (-force: its contents are replaced)')..."
SB_CREATING=1
created="$(sb_kubectl create --filename "$SB_TMP/job.json" --output name)"
SB_JOB="${created#*/}"
sb_info "$created created"
while :; do
  sb_wait_for_pod_start
  pod="$SB_STARTED_POD"
  sb_stream_logs "$pod"
  [[ "$SB_JOB_STATE" != Complete ]] || break
  if [[ "$SB_JOB_STATE" == Failed ]]; then
    code="$(sb_kubectl get pod "$pod" --output 'jsonpath={.status.containerStatuses[0].state.terminated.exitCode}' 2>/dev/null || true)"
    [[ "$code" =~ ^[0-9]+$ && "$code" != 0 ]] || code=1
    sb_die "the restore failed (exit code $code): see the job's output above" "" "$code"
  fi
  SB_DONE_PODS+=" $pod "
done
sb_info "=== Claim $target restored from snapshot $snapshot of claim $claim. Start the workload that uses it again (JupyterHub: the user's server)."

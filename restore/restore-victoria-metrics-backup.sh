#!/usr/bin/env bash
# Restores one Victoria Metrics instance from a backup version:
#   1. scales the instance's StatefulSet to 0 (recording its replica count) and waits for its pods to go;
#   2. runs the restore Job: vmrestore of the version into the instance's volume (an incomplete version
#      is refused; the job also refuses while the instance still answers);
#   3. scales the StatefulSet back to the recorded count and waits for the rollout;
#   4. runs the check Job: waits until the instance answers and prints how many series it holds.
# The next scheduled backup of the instance starts a new version; the restored version is not changed.
SB_USAGE="Usage: $(basename "$0") INSTANCE VERSION [options]

Restores INSTANCE (victoria-metrics-N) from VERSION, as printed by
./restore/list-victoria-metrics-backups.sh. The instance is stopped during the restore."
# shellcheck source=restore/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
sb_parse_options "$@"
sb_expect_args 2 2 "an instance and a version"
instance="${SB_ARGS[0]}"
version="${SB_ARGS[1]}"
if ! [[ "$instance" =~ ^victoria-metrics-[0-9]{1,4}$ ]]; then
  sb_die "invalid instance: $(sb_shown "$instance")" "Allowed: victoria-metrics-N, as printed by ./restore/list-victoria-metrics-backups.sh." 2
fi
if ! [[ "$version" =~ ^${instance}-[0-9]{14}$ ]]; then
  sb_die "invalid version: $(sb_shown "$version") is not a version of $instance" \
    "Versions look like $instance-YYYYMMDDHHMMSS; list them with ./restore/list-victoria-metrics-backups.sh." 2
fi
values="backup.enabled=true $instance.restore.enabled=true"

# The StatefulSet to stop comes from the restore template (Helm value $instance.backup.statefulSetName).
sb_template_get "$instance-restore" "$values" annotation stackbackup.io/statefulset
statefulset="$SB_TEMPLATE_VALUE"
sb_validate k8s-name "$statefulset" "StatefulSet name (Helm value $instance.backup.statefulSetName)"
sb_kubectl get "statefulset/$statefulset" --output name >/dev/null 2>&1 \
  || sb_die "StatefulSet $statefulset of $instance not found in namespace \"$(sb_namespace)\"" \
       "Set the Helm value $instance.backup.statefulSetName to the instance's StatefulSet, or pass --namespace." 3

sb_info "=== Restoring $instance from $version: StatefulSet $statefulset is stopped during the restore."
sb_info "If this script stops half-way, $statefulset stays scaled down: rerun it, or scale it back with ./restore/scale-up.sh."
sb_scale_down "statefulset/$statefulset"
sb_run_job "$instance-restore" "$instance-restore" "$values" "STACKBACKUP_VM_VERSION=$version"
sb_info "=== Scaling $statefulset back to its recorded replica count..."
sb_scale_up --wait "statefulset/$statefulset"
if (( SB_SCALED_REPLICAS > 0 )); then
  sb_info "=== Checking that $instance answers..."
  sb_run_job "$instance-check" "$instance-check" "$values"
fi
sb_info "=== $instance restored from $version. Its next scheduled backup starts a new version; $version is kept as it is."

#!/usr/bin/env bash
# Runs a restore drill now, from the chart's drill Job template of the store (the same pod as the weekly
# drill CronJob): the newest complete backup is restored into scratch targets only (a scratch folder, a
# scratch victoria-metrics, drill-<index> indices), checked against what the backup recorded, and
# cleaned up; the result is kept in the bucket (stackbackup-drills/). Nothing live is touched, so no
# workload is stopped. The Job is removed on every exit (restore/lib/job.sh runs it).
SB_USAGE="Usage: $(basename "$0") STORE [TARGET] [options]

Runs a restore drill of STORE now and prints its checks:
  victoria-metrics [victoria-metrics-N]   (default victoria-metrics-0)
  elasticsearch
  volumes                                 (the next claims of the rotating sample)
Exit code 7: the drill failed (the backup did not restore as recorded); see the reason above."
# shellcheck source=restore/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
sb_parse_options "$@"
sb_expect_args 1 2 "a store, optionally a target"
store="${SB_ARGS[0]}"
target="${SB_ARGS[1]:-}"
case "$store" in
  victoria-metrics | vm)
    instance="${target:-victoria-metrics-0}"
    if ! [[ "$instance" =~ ^victoria-metrics-[0-9]{1,4}$ ]]; then
      sb_die "invalid instance: $(sb_shown "$instance")" "Allowed: victoria-metrics-N, as printed by ./restore/list-victoria-metrics-backups.sh." 2
    fi
    template="$instance-drill"
    values="backup.enabled=true $instance.backup.drill.enabled=true"
    what="$instance"
    ;;
  elasticsearch | es)
    [[ -z "$target" ]] || sb_die "elasticsearch takes no target (the drill restores the newest snapshot's indices)" "Run: $(basename "$0") elasticsearch" 2
    template="elasticsearch-drill"
    values="backup.enabled=true backup.elasticsearch.drill.enabled=true"
    what="the newest Elasticsearch snapshot"
    ;;
  volumes)
    [[ -z "$target" ]] || sb_die "volumes takes no target (each drill takes the next claims of its rotating sample)" \
      "Run: $(basename "$0") volumes; the sample size is the Helm value backup.volumes.drill.sample." 2
    template="volume-drill"
    values="backup.enabled=true backup.volumes.enabled=true backup.volumes.drill.enabled=true"
    what="the next sample of claims"
    ;;
  stackgraph)
    sb_die "the chart renders no StackGraph drill Job yet" \
      "Run it where the StackGraph tool is: stackbackup stackgraph drill --import-command ... --count-command ... (see stackbackup stackgraph drill --help)." 2
    ;;
  *)
    sb_die "unknown store: $(sb_shown "$store")" "Allowed: victoria-metrics, elasticsearch, volumes." 2
    ;;
esac

sb_info "=== Restore drill of $what: restored into scratch targets only, checked against its record, then removed..."
sb_run_job "$template" "$template" "$values"
sb_info "=== Drill passed. Its result is kept in the bucket (stackbackup-drills/); ./restore/status.sh shows the stores' state."

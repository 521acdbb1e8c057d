#!/usr/bin/env bash
# Scaling workloads down for a restore and back up afterwards, without losing their replica counts:
#
#   sb_scale_down deployment/NAME statefulset/NAME ...   # or: sb_scale_down_selector 'app=x'
#   sb_scale_up_recorded [SELECTOR]                      # what scale-up.sh runs
#
# Before a workload is scaled to 0 its replica count is recorded in the annotation
# stackbackup.io/replicas-before-restore (an existing record, from an interrupted restore, is kept),
# then the script waits until its pods are gone (kubectl wait, bounded by STACKBACKUP_SCALE_TIMEOUT,
# default 300 s). Scaling up restores exactly the recorded count and removes the annotation.
# Sourced by lib/common.sh.

SB_REPLICAS_ANNOTATION="stackbackup.io/replicas-before-restore"
SB_SCALE_TIMEOUT="${STACKBACKUP_SCALE_TIMEOUT:-300}"
SB_WORKLOAD_PATTERN='^(deployment|statefulset)s?(\.apps)?/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$'

# sb_bg COMMAND...: runs COMMAND in the background and waits for it, so that Ctrl-C is handled at once.
sb_bg() {
  local pid rc=0
  "$@" &
  pid=$!
  SB_PIDS+=("$pid")
  wait "$pid" || rc=$?
  return "$rc"
}

# sb_workload_selector WORKLOAD: prints the label selector of the workload's pods.
sb_workload_selector() {
  local selector
  # shellcheck disable=SC2016 # a Go template, not a shell expansion
  selector="$(sb_kubectl get "$1" --output 'go-template={{range $k, $v := .spec.selector.matchLabels}}{{$k}}={{$v}},{{end}}')"
  printf '%s' "${selector%,}"
}

sb_scale_down() {
  local workload info replicas recorded selector
  for workload in "$@"; do
    [[ "$workload" =~ $SB_WORKLOAD_PATTERN ]] || sb_die "cannot scale $(sb_shown "$workload")" "Name a deployment/NAME or statefulset/NAME." 2
  done
  for workload in "$@"; do
    info="$(sb_kubectl get "$workload" --output "jsonpath={.spec.replicas}|{.metadata.annotations.stackbackup\\.io/replicas-before-restore}")"
    IFS='|' read -r replicas recorded <<<"$info"
    if [[ -n "$recorded" ]]; then
      sb_info "=== $workload: keeping the replica count recorded earlier ($recorded)"
    else
      [[ "$replicas" =~ ^[0-9]+$ ]] || sb_die "$workload has no replica count"
      sb_kubectl annotate "$workload" "$SB_REPLICAS_ANNOTATION=$replicas" >/dev/null
      sb_info "=== $workload: recorded $replicas replicas in annotation $SB_REPLICAS_ANNOTATION"
    fi
    sb_kubectl scale "$workload" --replicas=0 >&2
    selector="$(sb_workload_selector "$workload")"
    [[ -n "$selector" ]] || sb_die "$workload has no matchLabels selector; cannot tell when its pods are gone"
    sb_info "=== Waiting for the pods of $workload to terminate..."
    if ! sb_bg sb_kubectl wait pods --for=delete --selector "$selector" --timeout="${SB_SCALE_TIMEOUT}s" >/dev/null; then
      sb_die "the pods of $workload did not terminate within ${SB_SCALE_TIMEOUT}s: $(sb_kubectl get pods --selector "$selector" --output 'jsonpath={range .items[*]}{.metadata.name}{" "}{end}')" \
        "Check them with: kubectl get pods --selector $selector. Then run restore/scale-up.sh to scale back up." 124
    fi
  done
}

# sb_scale_down_selector SELECTOR: scales down every deployment and statefulset matching SELECTOR.
sb_scale_down_selector() {
  sb_validate selector "$1" "label selector"
  local -a workloads=()
  mapfile -t workloads < <(sb_kubectl get deployments,statefulsets --selector "$1" --output name)
  (( ${#workloads[@]} > 0 )) || sb_die "no deployment or statefulset matches $1" "Check the chart's scale-down selector values."
  sb_scale_down "${workloads[@]}"
}

# sb_scale_up_recorded [SELECTOR]: scales every annotated deployment and statefulset back to its record.
sb_scale_up_recorded() {
  local -a select=()
  if [[ -n "${1:-}" ]]; then
    sb_validate selector "$1" "label selector"
    select=(--selector "$1")
  fi
  local lines workload recorded count=0
  lines="$(sb_kubectl get deployments,statefulsets "${select[@]}" \
    --output "jsonpath={range .items[*]}{.kind}/{.metadata.name}|{.metadata.annotations.stackbackup\\.io/replicas-before-restore}{\"\\n\"}{end}")"
  while IFS='|' read -r workload recorded; do
    [[ -n "$recorded" ]] || continue
    workload="${workload,,}"
    [[ "$workload" =~ $SB_WORKLOAD_PATTERN ]] || sb_die "unexpected workload $(sb_shown "$workload")"
    [[ "$recorded" =~ ^[0-9]{1,6}$ ]] || sb_die "$workload records an invalid replica count $(sb_shown "$recorded")" \
      "Scale it yourself (kubectl scale $workload --replicas=N) and remove the annotation (kubectl annotate $workload $SB_REPLICAS_ANNOTATION-)."
    sb_kubectl scale "$workload" --replicas="$recorded" >/dev/null
    sb_kubectl annotate "$workload" "$SB_REPLICAS_ANNOTATION-" >/dev/null
    sb_info "$workload scaled to $recorded replicas"
    count=$((count + 1))
  done <<<"$lines"
  if (( count == 0 )); then
    sb_info "Nothing to scale up: no deployment or statefulset in namespace \"$(sb_namespace)\" has a recorded replica count ($SB_REPLICAS_ANNOTATION)."
  else
    sb_info "Follow the pods starting with: kubectl get pods --watch"
  fi
}

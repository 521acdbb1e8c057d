#!/usr/bin/env bash
# Scaling workloads down for a restore and back up afterwards, without losing their replica counts:
#
#   sb_scale_down deployment/NAME statefulset/NAME ...   # or: sb_scale_down_selector 'app=x'
#   sb_scale_up [--wait] [-l SELECTOR | WORKLOAD...]     # what scale-up.sh runs
#
# Before a workload is scaled to 0 its replica count is recorded in the annotation
# stackbackup.io/replicas-before-restore (an existing record, from an interrupted restore, is kept),
# then the script waits until its pods are gone (kubectl wait, bounded by STACKBACKUP_SCALE_TIMEOUT,
# default 300 s). Scaling up restores exactly the recorded count and removes the annotation; with
# --wait it also waits (same bound) until the workloads are ready again.
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

# sb_selected_workloads SELECTOR: sets SB_WORKLOADS to the deployments and statefulsets matching
# SELECTOR; none is an error (a selector that matches nothing is a wrong value, and restoring under
# running workloads is what it is there to prevent). Scripts call it before they change anything.
SB_WORKLOADS=()
sb_selected_workloads() {
  sb_validate selector "$1" "label selector"
  mapfile -t SB_WORKLOADS < <(sb_kubectl get deployments,statefulsets --selector "$1" --output name)
  (( ${#SB_WORKLOADS[@]} > 0 )) || sb_die "no deployment or statefulset in namespace $(sb_namespace) matches the scale-down selector $1" \
    "Label the workloads to stop during the restore, or fix the chart's scale-down selector value and run helm upgrade."
}

# sb_scale_down_selector SELECTOR: scales down every deployment and statefulset matching SELECTOR.
sb_scale_down_selector() {
  sb_selected_workloads "$1"
  sb_scale_down "${SB_WORKLOADS[@]}"
}

# sb_scale_up [--wait] [-l SELECTOR | WORKLOAD...]: scales back to its recorded count every annotated
# deployment and statefulset of the namespace, those matching SELECTOR, or the WORKLOADs named (each
# must have a record), and removes the records; --wait: until they are ready. Sets SB_SCALED_REPLICAS
# to the number of replicas asked for.
SB_SCALED_REPLICAS=0
sb_scale_up() {
  local wait=false selector="" workload recorded lines
  local -a select=() named=() scaled=()
  if [[ "${1:-}" == --wait ]]; then wait=true; shift; fi
  if [[ "${1:-}" == -l ]]; then
    sb_validate selector "${2:-}" "label selector"
    selector="$2"
    select=(--selector "$2")
  else
    named=("$@")
  fi
  for workload in "${named[@]}"; do
    [[ "$workload" =~ $SB_WORKLOAD_PATTERN ]] || sb_die "cannot scale $(sb_shown "$workload")" "Name a deployment/NAME or statefulset/NAME." 2
  done
  if (( ${#named[@]} > 0 )); then
    lines=""
    for workload in "${named[@]}"; do
      lines+="$workload|$(sb_kubectl get "$workload" --output "jsonpath={.metadata.annotations.stackbackup\\.io/replicas-before-restore}")"$'\n'
    done
  else
    lines="$(sb_kubectl get deployments,statefulsets "${select[@]}" \
      --output "jsonpath={range .items[*]}{.kind}/{.metadata.name}|{.metadata.annotations.stackbackup\\.io/replicas-before-restore}{\"\\n\"}{end}")"
  fi
  SB_SCALED_REPLICAS=0
  while IFS='|' read -r workload recorded; do
    [[ -n "$workload" ]] || continue
    workload="${workload,,}"
    if [[ -z "$recorded" ]]; then
      (( ${#named[@]} == 0 )) && continue
      sb_die "$workload has no recorded replica count (annotation $SB_REPLICAS_ANNOTATION)" \
        "Scale it yourself: kubectl scale $workload --replicas=N"
    fi
    [[ "$workload" =~ $SB_WORKLOAD_PATTERN ]] || sb_die "unexpected workload $(sb_shown "$workload")"
    [[ "$recorded" =~ ^[0-9]{1,6}$ ]] || sb_die "$workload records an invalid replica count $(sb_shown "$recorded")" \
      "Scale it yourself (kubectl scale $workload --replicas=N) and remove the annotation (kubectl annotate $workload $SB_REPLICAS_ANNOTATION-)."
    sb_kubectl scale "$workload" --replicas="$recorded" >/dev/null
    sb_kubectl annotate "$workload" "$SB_REPLICAS_ANNOTATION-" >/dev/null
    sb_info "$workload scaled to $recorded replicas"
    scaled+=("$workload")
    SB_SCALED_REPLICAS=$((SB_SCALED_REPLICAS + recorded))
  done <<<"$lines"
  if (( ${#scaled[@]} == 0 )); then
    sb_info "Nothing to scale up: no deployment or statefulset in namespace \"$(sb_namespace)\"${selector:+ matching $selector} has a recorded replica count ($SB_REPLICAS_ANNOTATION)."
  elif [[ "$wait" == true ]]; then
    for workload in "${scaled[@]}"; do
      if ! sb_bg sb_kubectl rollout status "$workload" --timeout="${SB_SCALE_TIMEOUT}s" >&2; then
        sb_die "$workload did not become ready within ${SB_SCALE_TIMEOUT}s" \
          "Check its pods: kubectl get pods --selector $(sb_workload_selector "$workload")" 124
      fi
    done
  else
    sb_info "Follow the pods starting with: kubectl get pods --watch"
  fi
}

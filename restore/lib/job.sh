#!/usr/bin/env bash
# The one lifecycle of every Job a list or restore script runs from a template the chart installs:
#
#   sb_run_job TEMPLATE PREFIX "HELM VALUES" [SETTING...]
#
# 1. finds the template: a ConfigMap in the namespace labelled
#      app.kubernetes.io/part-of=stackbackup, stackbackup.io/job-template=TEMPLATE
#    (and app.kubernetes.io/instance=RELEASE with --release), holding a Job manifest under data key
#    "job.yaml". None: says which HELM VALUES enable it. Several releases: asks for --release.
# 2. creates a Job named PREFIX-YYYYMMDDtHHMMSS-xxxxx from it with the SETTINGs applied as data (never
#    text pasted into YAML; every name and value is validated first), labelled stackbackup.io/run-id
#    so that it can always be found and removed. A SETTING is
#      NAME=VALUE            an environment variable of its containers;
#      claim:VOLUME=CLAIM    the pod's volume VOLUME (which the template must have) mounts claim CLAIM;
# 3. waits for its pod to start (bounded by --timeout; on timeout says why: image pull, scheduling,
#    admission...), streams the pod's logs to stdout, and waits for the Job to finish; a pod that
#    succeeded while the job controller has not marked the Job Complete (a lagging control plane) ends
#    the run too, with a warning;
# 4. removes the Job and its pods when it is done, and on every other exit, Ctrl-C included; a failed
#    Job ends the script with its container's exit code.
#
# What else the script creates is removed on exit as well (sb_remove_on_exit KIND/NAME), after the
# script's own last word (sb_on_exit FUNCTION: called with the exit code, to say where things stand).
# sb_template_get reads a setting the chart left in a template (the workloads to stop, a claim).
# Sourced by lib/common.sh.

SB_RUN_ID=""
SB_JOB=""
SB_TMP=""
SB_PIDS=()
SB_CREATING=0
SB_ON_EXIT=""
SB_REMOVE=()
SB_FINISH_TIMEOUT="${STACKBACKUP_FINISH_TIMEOUT:-60}"
SB_LABEL_PART_OF="app.kubernetes.io/part-of=stackbackup"

# sb_on_exit FUNCTION: FUNCTION EXIT_CODE runs on every exit of the script, once its Job is removed.
sb_on_exit() { SB_ON_EXIT="$1"; }

# sb_remove_on_exit KIND/NAME: deletes that object (and waits until it is gone) on every exit.
sb_remove_on_exit() { SB_REMOVE+=("$1"); }

sb_cleanup() {
  local rc=$?
  trap '' INT TERM HUP
  trap - EXIT
  set +e
  local pid object
  for pid in "${SB_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ "$SB_CREATING" == 1 ]]; then
    SB_CREATING=0
    sb_delete_run || rc=$(( rc == 0 ? 1 : rc ))
  fi
  if [[ -n "$SB_ON_EXIT" ]]; then "$SB_ON_EXIT" "$rc"; fi
  for object in "${SB_REMOVE[@]}"; do
    if ! sb_kubectl delete "$object" --ignore-not-found --wait=true --timeout=120s >/dev/null; then
      sb_warn "could not delete $object; delete it yourself: kubectl delete $object"
      rc=$(( rc == 0 ? 1 : rc ))
    fi
  done
  if [[ -n "$SB_TMP" ]]; then rm -rf "$SB_TMP"; fi
  exit "$rc"
}

sb_interrupted() {
  sb_info ""
  if [[ "$SB_CREATING" == 1 || ${#SB_REMOVE[@]} -gt 0 ]]; then sb_info "Interrupted: removing what this script created..."; else sb_info "Interrupted."; fi
  exit 130
}

# Deletes the Job of this run and waits until it and its pods are gone.
sb_delete_run() {
  local selector="stackbackup.io/run-id=$SB_RUN_ID" out
  if ! out="$(sb_kubectl delete jobs --selector "$selector" --cascade=foreground --ignore-not-found --wait=true --timeout=120s 2>&1)"; then
    sb_warn "could not delete the job: $out"
    sb_warn "Delete it yourself: kubectl delete jobs --selector $selector"
    return 1
  fi
  [[ -z "$out" ]] || sb_info "$out"
  if ! out="$(sb_kubectl delete pods --selector "$selector" --ignore-not-found --wait=true --timeout=60s 2>&1)"; then
    sb_warn "could not delete the job's pods: $out"
    return 1
  fi
}

# sb_watch TIMEOUT HANDLER GET_ARGS...: runs `kubectl get GET_ARGS --watch` and passes each output line
# to HANDLER until HANDLER succeeds (returns 0) or TIMEOUT seconds pass (returns 124). A watch the server
# closes is reopened; a kubectl error ends the script with kubectl's message.
sb_watch() {
  local timeout="$1" handler="$2" deadline fd pid line remaining rc
  shift 2
  deadline=$((SECONDS + timeout))
  while (( SECONDS < deadline )); do
    exec {fd}< <(exec "${SB_KC[@]}" get "$@" --watch 2>"$SB_TMP/watch.err")
    pid=$!
    SB_PIDS+=("$pid")
    while :; do
      remaining=$((deadline - SECONDS))
      (( remaining > 0 )) || break
      if IFS= read -r -t "$remaining" -u "$fd" line; then
        if "$handler" "$line"; then
          kill "$pid" 2>/dev/null || true
          exec {fd}<&-
          return 0
        fi
      else
        rc=0
        if (( SECONDS < deadline )); then
          # End of stream before the deadline: kubectl exited.
          wait "$pid" || rc=$?
          if (( rc != 0 )); then
            exec {fd}<&-
            sb_die "kubectl get $* --watch failed: $(cat "$SB_TMP/watch.err")"
          fi
        fi
        break
      fi
    done
    kill "$pid" 2>/dev/null || true
    exec {fd}<&-
  done
  return 124
}

# sb_find_template TEMPLATE HELM_VALUES: sets SB_TEMPLATE_CONFIGMAP to the template's ConfigMap.
SB_TEMPLATE_CONFIGMAP=""
sb_find_template() {
  local template="$1" values="$2" selector out ns name release
  local -a names=() releases=()
  selector="$SB_LABEL_PART_OF,stackbackup.io/job-template=$template"
  [[ -z "$SB_RELEASE" ]] || selector+=",app.kubernetes.io/instance=$SB_RELEASE"
  ns="$(sb_namespace)"
  if ! out="$(sb_kubectl get configmaps --selector "$selector" \
      --output 'jsonpath={range .items[*]}{.metadata.name}{"|"}{.metadata.labels.app\.kubernetes\.io/instance}{"\n"}{end}' 2>&1)"; then
    sb_die "cannot list ConfigMaps in namespace \"$ns\": ${out##*$'\n'}" \
      "Check that kubectl points at the cluster and namespace where the chart is installed (kubectl config current-context), or pass --namespace."
  fi
  while IFS='|' read -r name release; do
    [[ -n "$name" ]] || continue
    names+=("$name")
    releases+=("${release:-(no app.kubernetes.io/instance label)}")
  done <<<"$out"
  if (( ${#names[@]} == 0 )); then
    local hint="Enable it with the Helm values $values (for example: helm upgrade RELEASE CHART --reuse-values" v
    for v in $values; do hint+=" --set $v"; done
    hint+="), or point kubectl at the namespace of the release (--namespace)."
    if [[ -n "$SB_RELEASE" ]]; then
      sb_die "release \"$SB_RELEASE\" has no \"$template\" job template in namespace \"$ns\" (no ConfigMap labelled $selector)" "$hint" 3
    fi
    sb_die "no \"$template\" job template in namespace \"$ns\" (no ConfigMap labelled $selector)" "$hint" 3
  fi
  if (( ${#names[@]} > 1 )); then
    sb_die "${#names[@]} releases in namespace \"$ns\" have a \"$template\" job template: ${releases[*]}" \
      "Choose one with --release NAME (or STACKBACKUP_RELEASE=NAME)." 2
  fi
  SB_TEMPLATE_CONFIGMAP="${names[0]}"
}

# sb_template_get TEMPLATE HELM_VALUES data|annotation KEY: sets SB_TEMPLATE_VALUE to data key KEY, or
# annotation KEY, of the template's ConfigMap (empty when it has none).
SB_TEMPLATE_VALUE=""
sb_template_get() {
  local where
  [[ "$4" =~ ^[A-Za-z0-9][A-Za-z0-9._/-]*$ ]] || sb_die "internal: template key $(sb_shown "$4")"
  case "$3" in
    data) where=".data" ;;
    annotation) where=".metadata.annotations" ;;
    *) sb_die "internal: template field $(sb_shown "$3")" ;;
  esac
  sb_find_template "$1" "$2"
  # shellcheck disable=SC2034 # read by the scripts
  SB_TEMPLATE_VALUE="$(sb_kubectl get configmap "$SB_TEMPLATE_CONFIGMAP" --output "jsonpath={$where.${4//./\\.}}")"
}

# sb_run_job TEMPLATE PREFIX HELM_VALUES [SETTING...]: see the top of this file.
sb_run_job() {
  local template="$1" prefix="$2" values="$3"
  shift 3
  local -a env_args=() claims=()
  local setting key value
  sb_validate k8s-name "$template" "job template name"
  sb_validate job-prefix "$prefix" "job name prefix"
  for setting in "$@"; do
    [[ "$setting" == *=* ]] || sb_die "internal: job setting $(sb_shown "$setting") is not NAME=VALUE or claim:VOLUME=CLAIM"
    key="${setting%%=*}"
    value="${setting#*=}"
    if [[ "$key" == claim:* ]]; then
      sb_validate k8s-name "${key#claim:}" "job volume name"
      sb_validate claim-name "$value" "claim name of volume ${key#claim:}"
      claims+=("${key#claim:}=$value")
    else
      sb_validate env-name "$key" "job setting name"
      sb_validate env-value "$value" "value of $key"
      env_args+=("$key=$value")
    fi
  done

  SB_RUN_ID="$(date -u +%Y%m%d%H%M%S)-$$-$RANDOM"
  sb_find_template "$template" "$values"
  _sb_job_manifest "$prefix" "$SB_TEMPLATE_CONFIGMAP" "${#claims[@]}" "${claims[@]}" "${env_args[@]}"

  SB_CREATING=1
  local created
  created="$(sb_kubectl create --filename "$SB_TMP/job.json" --output name)"
  SB_JOB="${created#*/}"
  sb_info "$created created"
  _sb_job_follow
  # Done: remove the Job now, so that the next step (another Job on the same claim) starts clean.
  local removed=0
  sb_delete_run || removed=1
  SB_CREATING=0
  (( removed == 0 )) || exit 1
}

# _sb_job_manifest PREFIX CONFIGMAP CLAIM_COUNT CLAIM... ENV...: writes $SB_TMP/job.json, the template
# with the settings applied as data: environment variables through `kubectl set env` (arguments, so
# nothing is parsed as YAML), a generated name and the run label through a merge patch, and each
# VOLUME=CLAIM through a strategic merge patch of the pod's volumes by name. Every value was validated,
# so it is safe inside JSON strings.
_sb_job_manifest() {
  local prefix="$1" configmap="$2" count="$3" pair labels volumes="" kind names
  shift 3
  local -a claims=("${@:1:count}")
  shift "$count"
  local broken="the job template in ConfigMap $configmap"
  sb_kubectl get configmap "$configmap" --output 'go-template={{index .data "job.yaml"}}' >"$SB_TMP/template.yaml"
  [[ -s "$SB_TMP/template.yaml" ]] || sb_die "ConfigMap $configmap has no job.yaml" "Reinstall or upgrade the chart release."
  labels='"app.kubernetes.io/part-of":"stackbackup","stackbackup.io/created-by":"restore-script","stackbackup.io/run-id":"'"$SB_RUN_ID"'"'
  if ! "$SB_KUBECTL" set env --local --filename "$SB_TMP/template.yaml" --output json "STACKBACKUP_RUN_ID=$SB_RUN_ID" "$@" 2>"$SB_TMP/err" \
      | "$SB_KUBECTL" patch --local --filename - --type merge --output json \
        --patch "{\"metadata\":{\"name\":null,\"generateName\":\"$prefix-$(date -u +%Y%m%dt%H%M%S)-\",\"labels\":{$labels}},\"spec\":{\"template\":{\"metadata\":{\"labels\":{$labels}}}}}" \
        >"$SB_TMP/job.json" 2>>"$SB_TMP/err"; then
    sb_die "$broken is not a valid Job manifest: $(cat "$SB_TMP/err")" "Reinstall or upgrade the chart release."
  fi
  kind="$("$SB_KUBECTL" patch --local --filename "$SB_TMP/job.json" --type merge --patch '{}' --output 'jsonpath={.kind}')"
  [[ "$kind" == Job ]] || sb_die "$broken is a $kind, not a Job" "Reinstall or upgrade the chart release."
  (( count > 0 )) || return 0
  names=" $("$SB_KUBECTL" patch --local --filename "$SB_TMP/job.json" --type merge --patch '{}' --output 'jsonpath={.spec.template.spec.volumes[*].name}') "
  for pair in "${claims[@]}"; do
    [[ "$names" == *" ${pair%%=*} "* ]] || sb_die "$broken has no volume \"${pair%%=*}\" for claim ${pair#*=}" "Upgrade the chart release to the version of these scripts."
    volumes+="${volumes:+,}{\"name\":\"${pair%%=*}\",\"persistentVolumeClaim\":{\"claimName\":\"${pair#*=}\"}}"
  done
  if ! "$SB_KUBECTL" patch --local --filename "$SB_TMP/job.json" --type strategic --output json \
      --patch "{\"spec\":{\"template\":{\"spec\":{\"volumes\":[$volumes]}}}}" >"$SB_TMP/job-claims.json" 2>"$SB_TMP/err"; then
    sb_die "$broken does not take the claims: $(cat "$SB_TMP/err")" "Reinstall or upgrade the chart release."
  fi
  mv "$SB_TMP/job-claims.json" "$SB_TMP/job.json"
}

# _sb_job_follow: waits for the Job's pod to start, streams its logs and waits for the end. Returns once
# the work is done (the Job Complete, or its pod Succeeded while the job controller lags); a failed Job
# ends the script with its container's exit code; a pod that stopped while the Job retries is followed
# by its next pod.
_sb_job_follow() {
  local pod exit_code
  while :; do
    sb_wait_for_pod_start
    pod="$SB_STARTED_POD"
    sb_stream_logs "$pod"
    if [[ "$SB_JOB_STATE" == Complete ]]; then
      return 0
    fi
    if [[ "$SB_JOB_STATE" == Failed ]]; then
      exit_code="$(sb_kubectl get pod "$pod" --output 'jsonpath={.status.containerStatuses[0].state.terminated.exitCode}' 2>/dev/null || true)"
      [[ "$exit_code" =~ ^[0-9]+$ && "$exit_code" != 0 ]] || exit_code=1
      sb_die "job $SB_JOB failed (exit code $exit_code): $SB_JOB_MESSAGE" "" "$exit_code"
    fi
    # The job controller has not marked the Job (it can lag on a busy control plane): the pod's own
    # end decides. Its container exited 0 and its logs were shown, so the work is done.
    if [[ "$(sb_kubectl get pod "$pod" --output 'jsonpath={.status.phase}' 2>/dev/null || true)" == Succeeded ]]; then
      sb_warn "pod $pod succeeded; job $SB_JOB is not marked Complete yet (the job controller lags)"
      return 0
    fi
    SB_DONE_PODS+=" $pod "
  done
}

SB_DONE_PODS=" "
SB_STARTED_POD=""
SB_WAIT_LAST=""

_sb_on_pod_line() {
  local name phase reason sched_reason message
  IFS='|' read -r name phase reason sched_reason message <<<"$1"
  sb_is_valid claim-name "$name" || return 1
  [[ "$SB_DONE_PODS" != *" $name "* ]] || return 1
  case "$phase" in
    Running|Succeeded|Failed) SB_STARTED_POD="$name"; return 0 ;;
  esac
  local now="${reason:-$sched_reason}"
  if [[ -n "$now" && "$now" != "$SB_WAIT_LAST" ]]; then
    sb_info "Waiting for job to start... ($now${message:+: $message})"
    SB_WAIT_LAST="$now"
  fi
  return 1
}

# Sets SB_STARTED_POD once the job's pod runs (or has already finished); on timeout explains why not.
sb_wait_for_pod_start() {
  SB_STARTED_POD=""
  SB_WAIT_LAST=""
  sb_info "Waiting for job to start..."
  local rc=0
  sb_watch "$SB_START_TIMEOUT" _sb_on_pod_line pods --selector "stackbackup.io/run-id=$SB_RUN_ID" \
    --output 'jsonpath={.metadata.name}{"|"}{.status.phase}{"|"}{.status.containerStatuses[*].state.waiting.reason}{"|"}{.status.conditions[?(@.type=="PodScheduled")].reason}{"|"}{.status.containerStatuses[*].state.waiting.message}{" "}{.status.conditions[?(@.type=="PodScheduled")].message}{"\n"}' \
    || rc=$?
  if (( rc != 0 )); then sb_explain_not_started; fi
}

# Says why the job's pod did not start: its waiting reasons, scheduling conditions and warning events
# (of the pod and of the Job, which carry admission and quota refusals), then exits 124.
sb_explain_not_started() {
  local pods events="" name reasons hint=""
  local -a names=("$SB_JOB")
  pods="$(sb_kubectl get pods --selector "stackbackup.io/run-id=$SB_RUN_ID" \
    --output 'jsonpath={range .items[*]}{"pod "}{.metadata.name}{": "}{.status.phase}{" "}{.status.containerStatuses[*].state.waiting.reason}{" "}{.status.containerStatuses[*].state.waiting.message}{" "}{.status.conditions[?(@.type=="PodScheduled")].reason}{" "}{.status.conditions[?(@.type=="PodScheduled")].message}{"\n"}{end}' 2>/dev/null || true)"
  mapfile -t -O 1 names < <(sb_kubectl get pods --selector "stackbackup.io/run-id=$SB_RUN_ID" --output 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}' 2>/dev/null || true)
  for name in "${names[@]}"; do
    [[ -n "$name" ]] || continue
    events+="$(sb_kubectl get events --field-selector "type=Warning,involvedObject.name=$name" \
      --output 'jsonpath={range .items[*]}{.involvedObject.kind}{" "}{.involvedObject.name}{": "}{.reason}{": "}{.message}{"\n"}{end}' 2>/dev/null || true)"
  done
  reasons="$(printf '%s\n%s\n' "$pods" "$events" | sed '/^[[:space:]]*$/d' | sort -u)"
  case "$reasons" in
    *ImagePullBackOff*|*ErrImagePull*|*InvalidImageName*)
      hint="The cluster cannot pull the job image: check the image values of the chart and its imagePullSecrets." ;;
    *Unschedulable*|*FailedScheduling*)
      hint="No node can run the job's pod: see the scheduler's message above (resources, node selectors, taints)." ;;
    *CreateContainerConfigError*)
      hint="A Secret or ConfigMap the job refers to is missing: check the chart's credentials values." ;;
    *FailedCreate*)
      hint="The Job could not create its pod: see the message above (Pod Security admission, quota, policies)." ;;
    *)
      hint="Check the cluster's events: kubectl get events --field-selector involvedObject.name=$SB_JOB" ;;
  esac
  sb_die "the pod of job $SB_JOB did not start within ${SB_START_TIMEOUT}s${reasons:+:
$reasons}" "$hint (Raise the limit with --timeout SECONDS.)" 124
}

SB_JOB_STATE=""
SB_JOB_MESSAGE=""
_sb_on_job_line() {
  local types message
  IFS='|' read -r types message <<<"$1"
  case " $types " in
    *" Complete "*) SB_JOB_STATE=Complete ;;
    *" Failed "*) SB_JOB_STATE=Failed; SB_JOB_MESSAGE="$message" ;;
    *) return 1 ;;
  esac
}

# sb_wait_job_finished SECONDS: true once the Job is Complete or Failed (SB_JOB_STATE says which).
sb_wait_job_finished() {
  local format='jsonpath={.status.conditions[?(@.status=="True")].type}{"|"}{.status.conditions[?(@.type=="Failed")].message}{"\n"}'
  SB_JOB_STATE=""
  sb_watch "$1" _sb_on_job_line job "$SB_JOB" --output "$format" && return 0
  # A watch can miss the last change when its stream drops at the wrong moment: ask once more.
  _sb_on_job_line "$(sb_kubectl get job "$SB_JOB" --output "$format" 2>/dev/null || true)" || return 124
}

# Streams the pod's logs to stdout until its container stops, then waits for the Job to finish.
# A stream that ends while the container still runs (a dropped connection) is reattached.
sb_stream_logs() {
  local pod="$1" since="" rc pid phase
  while :; do
    rc=0
    if [[ -n "$since" ]]; then
      "${SB_KC[@]}" logs --follow "pod/$pod" --since-time "$since" &
    else
      "${SB_KC[@]}" logs --follow "pod/$pod" &
    fi
    pid=$!
    SB_PIDS+=("$pid")
    wait "$pid" || rc=$?
    since="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    (( rc == 0 )) || sb_warn "kubectl logs stopped with exit code $rc"
    if sb_wait_job_finished "$SB_FINISH_TIMEOUT"; then return 0; fi
    phase="$(sb_kubectl get pod "$pod" --output 'jsonpath={.status.phase}' 2>/dev/null || true)"
    if [[ "$phase" != Running ]]; then
      return 0
    fi
    sb_info "The log stream ended while the job is still running; reattaching..."
  done
}

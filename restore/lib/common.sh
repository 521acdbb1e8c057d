#!/usr/bin/env bash
# Shared machinery of the restore scripts: strict mode, messages, option parsing and strict argument
# validation. Sourced (never run) by every script in restore/, which then calls, in this order:
#
#   SB_USAGE="Usage: ..."            # what --help prints above the common options
#   sb_parse_options "$@"            # fills SB_ARGS with the positional arguments
#   sb_validate backup-name "${SB_ARGS[0]}" "backup name"   # every argument, before anything else
#   sb_run_job TEMPLATE PREFIX "HELM VALUES" [SETTING...]    # every Job: lib/job.sh
#   sb_scale_down ... / sb_scale_up ...                        # every scale step: lib/scale.sh
#
# Only kubectl is needed. Every kubectl call goes through sb_kubectl so that --namespace applies.
# Messages go to stderr; the job's own output (its logs) goes to stdout, so it can be piped.
# Exit codes: 0 ok, 1 failure, 2 invalid usage or argument, 3 no job template, 124 timeout,
# 130 interrupted; a failed job exits with its container's exit code.
set -Eeuo pipefail

SB_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SB_SCRIPT="$(basename "$0")"
SB_USAGE="${SB_USAGE:-Usage: $SB_SCRIPT [options]}"
SB_ARGS=()
SB_NAMESPACE="${STACKBACKUP_NAMESPACE:-}"
SB_RELEASE="${STACKBACKUP_RELEASE:-}"
SB_START_TIMEOUT="${STACKBACKUP_START_TIMEOUT:-300}"
SB_KUBECTL="${STACKBACKUP_KUBECTL:-kubectl}"
SB_KC=("$SB_KUBECTL") # kubectl with the namespace option, once sb_parse_options has run

sb_info() { printf '%s\n' "$*" >&2; }
sb_warn() { printf 'WARNING: %s\n' "$*" >&2; }
# sb_die MESSAGE [HINT] [EXIT_CODE]
sb_die() {
  printf 'ERROR: %s\n' "$1" >&2
  if [[ -n "${2:-}" ]]; then printf '%s\n' "$2" >&2; fi
  exit "${3:-1}"
}
# A value as the user typed it, quoted so that control characters cannot reach the terminal.
sb_shown() { printf '%q' "$1"; }

sb_kubectl() { "${SB_KC[@]}" "$@"; }

# The namespace the scripts work in: --namespace, else the current kubectl context's namespace.
sb_namespace() {
  if [[ -n "$SB_NAMESPACE" ]]; then printf '%s' "$SB_NAMESPACE"; return; fi
  local ns
  ns="$("$SB_KUBECTL" config view --minify --output 'jsonpath={..namespace}' 2>/dev/null || true)"
  printf '%s' "${ns:-default}"
}

sb_usage() {
  cat <<EOF
$SB_USAGE

Common options:
  --release NAME      the Helm release to use when several are installed in the namespace
                      (or set STACKBACKUP_RELEASE)
  -n, --namespace NS  the namespace of the release (default: the current kubectl context's namespace)
  --timeout SECONDS   how long to wait for the job's pod to start (default 300,
                      or set STACKBACKUP_START_TIMEOUT)
  -h, --help          show this help

Only kubectl is needed, configured for the cluster where the chart is installed.
EOF
}

# Validation patterns: one per kind of argument. Anything outside them is refused before any object
# is created, so a value carrying ";", "$(", quotes, spaces or path separators never gets further.
declare -A SB_PATTERNS=(
  [k8s-name]='^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
  [claim-name]='^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$'
  [release]='^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$'
  [backup-name]='^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$'
  [bucket]='^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'
  [index-list]='^[a-z0-9.*_+-][a-z0-9.*_+-]{0,254}(,[a-z0-9.*_+-][a-z0-9.*_+-]{0,254})*$'
  [snapshot-id]='^([0-9a-f]{8}|[0-9a-f]{64}|latest)$'
  [seconds]='^[1-9][0-9]{0,5}$'
  [env-name]='^[A-Z_][A-Z0-9_]{0,127}$'
  [env-value]='^[A-Za-z0-9._,:/=+*@-]{0,1024}$'
  [job-prefix]='^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$'
  [selector]='^[A-Za-z0-9./_-]{1,316}(!=|==|=)[A-Za-z0-9._-]{0,63}(,[A-Za-z0-9./_-]{1,316}(!=|==|=)[A-Za-z0-9._-]{0,63})*$'
)
declare -A SB_EXPLAIN=(
  [k8s-name]='lower-case letters, digits and hyphens, at most 63 characters, starting and ending with a letter or digit'
  [claim-name]='lower-case letters, digits, hyphens and dots, at most 253 characters'
  [release]='a Helm release name: lower-case letters, digits and hyphens, at most 53 characters'
  [backup-name]='letters, digits, dots, underscores and hyphens, as printed by the list script'
  [bucket]='3-63 characters: lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, no ".."'
  [index-list]='comma-separated index names or patterns: lower-case letters, digits and . * _ + -'
  [snapshot-id]='a snapshot ID as printed by the list script (8 or 64 hexadecimal characters), or "latest"'
  [seconds]='a whole number of seconds from 1 to 999999'
  [env-name]='upper-case letters, digits and underscores'
  [env-value]='letters, digits and . _ , : / = + * @ -'
  [job-prefix]='lower-case letters, digits and hyphens, at most 40 characters'
  [selector]='comma-separated KEY=VALUE or KEY!=VALUE label requirements'
)

# sb_is_valid KIND VALUE: true when VALUE matches the pattern of KIND.
sb_is_valid() {
  local pattern="${SB_PATTERNS[$1]:-}"
  [[ -n "$pattern" ]] || sb_die "internal: unknown validation kind $1"
  [[ "$2" =~ $pattern ]] || return 1
  # What bash's regular expressions cannot say (the CLI's src/config/names.ts does): S3 refuses
  # bucket names with ".." or starting with "xn--".
  if [[ "$1" == bucket ]]; then [[ "$2" != *..* && "$2" != xn--* ]]; fi
}

# sb_validate KIND VALUE WHAT: exits 2 with the allowed form when VALUE does not match KIND.
sb_validate() {
  if ! sb_is_valid "$1" "$2"; then
    sb_die "invalid $3: $(sb_shown "$2")" "Allowed: ${SB_EXPLAIN[$1]}." 2
  fi
}

# sb_parse_options ARGS...: handles the common options anywhere on the command line and leaves the
# rest, in order, in SB_ARGS. Single-dash words such as -force are left to the script.
sb_parse_options() {
  SB_ARGS=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -h|--help) sb_usage; exit 0 ;;
      --release|-n|--namespace|--timeout)
        [[ $# -ge 2 ]] || sb_die "$1 needs a value" "$(sb_usage)" 2
        case "$1" in
          --release) SB_RELEASE="$2" ;;
          -n|--namespace) SB_NAMESPACE="$2" ;;
          --timeout) SB_START_TIMEOUT="$2" ;;
        esac
        shift 2 ;;
      --release=*) SB_RELEASE="${1#*=}"; shift ;;
      --namespace=*) SB_NAMESPACE="${1#*=}"; shift ;;
      --timeout=*) SB_START_TIMEOUT="${1#*=}"; shift ;;
      --) shift; SB_ARGS+=("$@"); break ;;
      --*) sb_die "unknown option $(sb_shown "$1")" "$(sb_usage)" 2 ;;
      *) SB_ARGS+=("$1"); shift ;;
    esac
  done
  if [[ -n "$SB_RELEASE" ]]; then sb_validate release "$SB_RELEASE" "release name (--release or STACKBACKUP_RELEASE)"; fi
  if [[ -n "$SB_NAMESPACE" ]]; then sb_validate k8s-name "$SB_NAMESPACE" "namespace"; fi
  sb_validate seconds "$SB_START_TIMEOUT" "start timeout (--timeout or STACKBACKUP_START_TIMEOUT)"
  SB_KC=("$SB_KUBECTL")
  if [[ -n "$SB_NAMESPACE" ]]; then SB_KC+=(--namespace "$SB_NAMESPACE"); fi
  SB_TMP="$(mktemp -d "${TMPDIR:-/tmp}/stackbackup-restore.XXXXXX")"
  trap sb_cleanup EXIT
  trap sb_interrupted INT TERM HUP
  command -v "$SB_KUBECTL" >/dev/null 2>&1 \
    || sb_die "kubectl not found" "Install kubectl and point it at the cluster and namespace where the chart is installed."
}

# sb_take_flags FLAG...: moves the single-dash flags this script accepts (FLAG..., such as -force) out of
# SB_ARGS into SB_FLAGS; any other word starting with "-" is refused. SB_ARGS keeps the positional ones.
sb_take_flags() {
  local arg allowed known rest=()
  SB_FLAGS=()
  for arg in "${SB_ARGS[@]}"; do
    if [[ "$arg" != -* ]]; then rest+=("$arg"); continue; fi
    known=false
    for allowed in "$@"; do [[ "$arg" == "$allowed" ]] && known=true; done
    $known || sb_die "unexpected option $(sb_shown "$arg")" "$(sb_usage)" 2
    SB_FLAGS+=("$arg")
  done
  SB_ARGS=("${rest[@]}")
}

# sb_flag FLAG...: true when one of FLAG... was given (after sb_take_flags).
sb_flag() {
  local given wanted
  for given in "${SB_FLAGS[@]}"; do
    for wanted in "$@"; do [[ "$given" == "$wanted" ]] && return 0; done
  done
  return 1
}

# sb_expect_args MIN MAX [WHAT]: checks the number of positional arguments; WHAT says what they are.
sb_expect_args() {
  if (( ${#SB_ARGS[@]} < $1 || ${#SB_ARGS[@]} > $2 )); then
    local count="$1 argument(s)"
    if (( $2 > $1 )); then count="$1 to $2 argument(s)"; fi
    sb_die "expected ${3:+$3: }$count, got ${#SB_ARGS[@]}" "$(sb_usage)" 2
  fi
}

# sb_parse_list_options ARG...: the command line of a list script that takes no arguments and prints
# one name a line, or a table with -l (-long). Sets SB_LIST_FORMAT to names or table.
sb_parse_list_options() {
  sb_parse_options "$@"
  sb_take_flags -l -long
  sb_expect_args 0 0
  local format=names
  if sb_flag -l -long; then format=table; fi
  SB_LIST_FORMAT="$format" # read by the list script that sourced this file
  export SB_LIST_FORMAT
}

# shellcheck source=restore/lib/job.sh
source "$SB_LIB_DIR/job.sh"
# shellcheck source=restore/lib/scale.sh
source "$SB_LIB_DIR/scale.sh"

#!/usr/bin/env bash
# Shared helpers for the pinned, idempotent, cached tool installs.
# Every tool lands in $STACKBACKUP_TOOLS (default: <repo>/.cache/tools) and is rebuilt only when its
# pinned version changes. Sourced by scripts/install/*.sh; never run on its own.
set -Eeuo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${STACKBACKUP_TOOLS:-$REPO_ROOT/.cache/tools}"
BIN="$TOOLS/bin"
mkdir -p "$BIN" "$TOOLS/stamps"

log() { printf '[install] %s\n' "$*" >&2; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

# is_current NAME VERSION: true when NAME was installed at VERSION and its files are still there.
is_current() {
  local stamp="$TOOLS/stamps/$1"
  [[ -f "$stamp" && "$(cat "$stamp")" == "$2" ]]
}
mark_current() { printf '%s' "$2" >"$TOOLS/stamps/$1"; }

# go_install NAME MODULE_PATH VERSION [BINARY...]: builds a Go program from the Go module proxy.
go_install() {
  local name="$1" module="$2" version="$3"; shift 3
  if is_current "$name" "$version"; then log "$name $version already installed"; return 0; fi
  command -v go >/dev/null || die "Go toolchain not found: install Go 1.24+ to build $name"
  log "building $name $version from the Go module proxy (first run only; this takes a few minutes)"
  GOBIN="$BIN" GOFLAGS="-buildvcs=false -trimpath" CGO_ENABLED=0 go install -ldflags "-s -w ${GO_LDFLAGS:-}" "$module@$version" \
    || die "could not build $name ($module@$version); check that the Go module proxy is reachable"
  mark_current "$name" "$version"
}

# deb_extract NAME DEB_VERSION DEST: unpacks one pinned Debian package (its whole tree) into DEST, a
# fresh folder; nothing is installed system-wide and no service is started. For callers that keep the
# programs out of $BIN (node components: they would shadow the machine's commands on PATH).
deb_extract() {
  local name="$1" version="$2" dest="$3"
  command -v apt-get >/dev/null || die "apt-get not found: $name is installed from Debian's package $name=$version"
  local work; work="$(mktemp -d)"
  log "fetching Debian package $name $version"
  if ! (cd "$work" && apt-get download "$name=$version" >/dev/null 2>&1); then
    # A fresh machine has no package lists yet.
    if [[ $(id -u) -eq 0 ]]; then apt-get update -qq >/dev/null; else sudo apt-get update -qq >/dev/null; fi
    (cd "$work" && apt-get download "$name=$version" >/dev/null) \
      || { rm -rf "$work"; die "could not download $name=$version; check that Debian's package mirror is reachable"; }
  fi
  rm -rf "$dest"; mkdir -p "$dest"
  dpkg-deb -x "$work"/"${name}"_*.deb "$dest"
  rm -rf "$work"
}

# deb_install NAME DEB_VERSION PATH_IN_PACKAGE...: unpacks one pinned Debian package (deb_extract) and
# copies the named programs into $BIN.
deb_install() {
  local name="$1" version="$2"; shift 2
  if is_current "$name" "$version"; then
    local all=1 path
    for path in "$@"; do [[ -x "$BIN/$(basename "$path")" ]] || all=0; done
    if [[ $all == 1 ]]; then log "$name $version already installed"; return 0; fi
  fi
  local work; work="$(mktemp -d)"
  deb_extract "$name" "$version" "$work/root"
  local path
  for path in "$@"; do install -m 0755 "$work/root/$path" "$BIN/$(basename "$path")"; done
  rm -rf "$work"
  mark_current "$name" "$version"
  log "$name $version installed into $BIN"
}

# The real test node's programs (scripts/install/{containerd,runc,cni-plugins,iptables,node-images}.sh).
# shellcheck disable=SC2034 # used by the scripts that source this file
NODE_TOOLS="$TOOLS/node"

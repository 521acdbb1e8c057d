#!/usr/bin/env bash
# restic at one pinned release, for the volume backup tests, the demo and the benchmark.
#
# Source: Debian's own build (package restic, bookworm). The Go module proxy this project's machines
# reach refuses github.com/restic/restic ("not available" for every version), so `go install` cannot
# build it here; jobs/Dockerfile builds a newer release from source. Everything stackbackup runs
# (init, backup --json, snapshots --json, forget --json --group-by, restore, unlock, prune,
# check --read-data-subset) behaves the same in both; stackbackup reads restic's messages of both
# (for example "wrong password", which 0.17+ also reports as exit code 12).
# The package is only unpacked into the tools folder; the installed binary must report the pinned
# version, or the install fails.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RESTIC_DEB_VERSION="0.14.0-1+b5"
RESTIC_VERSION="0.14.0"
if is_current restic "$RESTIC_DEB_VERSION" && [[ -x "$BIN/restic" ]] && [[ "$("$BIN/restic" version 2>/dev/null)" == "restic $RESTIC_VERSION "* ]]; then
  log "restic $RESTIC_DEB_VERSION already installed"; exit 0
fi
command -v apt-get >/dev/null || die "apt-get not found: restic is installed from Debian's package restic=$RESTIC_DEB_VERSION"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
log "fetching Debian package restic $RESTIC_DEB_VERSION"
if ! (cd "$work" && apt-get download "restic=$RESTIC_DEB_VERSION" >/dev/null 2>&1); then
  # A fresh machine has no package lists yet.
  if [[ $(id -u) -eq 0 ]]; then apt-get update -qq >/dev/null; else sudo apt-get update -qq >/dev/null; fi
  (cd "$work" && apt-get download "restic=$RESTIC_DEB_VERSION" >/dev/null) \
    || die "could not download restic=$RESTIC_DEB_VERSION; check that Debian's package mirror is reachable"
fi
dpkg-deb -x "$work"/restic_*.deb "$work/root"
install -m 0755 "$work/root/usr/bin/restic" "$BIN/restic"
got="$("$BIN/restic" version 2>&1 || true)"
[[ "$got" == "restic $RESTIC_VERSION "* ]] || die "the installed restic reports \"$got\", expected restic $RESTIC_VERSION"
mark_current restic "$RESTIC_DEB_VERSION"
log "restic $RESTIC_DEB_VERSION installed into $BIN ($got)"

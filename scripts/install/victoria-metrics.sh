#!/usr/bin/env bash
# VictoriaMetrics single-node server, vmbackup and vmrestore at one pinned release, for the tests,
# the demo and the benchmark.
#
# Source: Debian's own build (package victoria-metrics, bookworm), which ships all three programs.
# The upstream module github.com/VictoriaMetrics/VictoriaMetrics is not served by the Go module proxy
# this project's machines reach ("not available" for every version), so `go install` cannot build it
# here. The package is only unpacked into the tools folder (no service is installed or started).
# vmbackup/vmrestore of this release read and write the same backup layout (parts plus the
# backup_complete.ignore marker) as the newer release in jobs/Dockerfile.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
VM_DEB_VERSION="1.79.5+ds1-2+b5"
if is_current victoria-metrics "$VM_DEB_VERSION" && [[ -x "$BIN/vmbackup" && -x "$BIN/vmrestore" && -x "$BIN/victoria-metrics" ]]; then
  log "victoria-metrics $VM_DEB_VERSION already installed"; exit 0
fi
command -v apt-get >/dev/null || die "apt-get not found: victoria-metrics is installed from Debian's package victoria-metrics=$VM_DEB_VERSION"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
log "fetching Debian package victoria-metrics $VM_DEB_VERSION"
if ! (cd "$work" && apt-get download "victoria-metrics=$VM_DEB_VERSION" >/dev/null 2>&1); then
  # A fresh machine has no package lists yet.
  if [[ $(id -u) -eq 0 ]]; then apt-get update -qq >/dev/null; else sudo apt-get update -qq >/dev/null; fi
  (cd "$work" && apt-get download "victoria-metrics=$VM_DEB_VERSION" >/dev/null) \
    || die "could not download victoria-metrics=$VM_DEB_VERSION; check that Debian's package mirror is reachable"
fi
dpkg-deb -x "$work"/victoria-metrics_*.deb "$work/root"
for app in victoria-metrics vmbackup vmrestore; do
  install -m 0755 "$work/root/usr/bin/$app" "$BIN/$app"
done
"$BIN/vmbackup" -help >/dev/null 2>&1 || die "vmbackup does not run (it needs libzstd1: apt-get install libzstd1)"
mark_current victoria-metrics "$VM_DEB_VERSION"
log "victoria-metrics $VM_DEB_VERSION installed into $BIN"

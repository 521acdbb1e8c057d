#!/usr/bin/env bash
# CoreDNS for the test cluster, stackbackup/coredns:<version>: the coredns binary in
# $STACKBACKUP_TOOLS/bin (built from its Go module by the node install scripts) on a scratch base.
# Runs as 65532; it serves DNS on port 53 only with NET_BIND_SERVICE, or on another port from its
# Corefile. Without the binary this recipe builds nothing and says so.
# shellcheck source=scripts/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

if [[ ! -x "$BIN/coredns" ]]; then
  log "coredns: SKIPPED, no CoreDNS binary at $BIN/coredns (it is built by the node install scripts; build it, then run scripts/images/build.sh coredns)"
  exit 0
fi
version="$("$BIN/coredns" -version 2>/dev/null | sed -n 's/^CoreDNS-\([0-9][0-9.]*\).*/\1/p' | head -n 1)"
[[ -n "$version" ]] || die "$BIN/coredns -version does not print CoreDNS-<version>"
image_begin coredns "stackbackup/coredns:$version" scratch
image_input "$BIN/coredns"
image_config --config.user="$IMAGE_UID:$IMAGE_UID" --config.workingdir=/ --config.env=HOME=/tmp \
  --config.entrypoint=/coredns --config.cmd=-conf --config.cmd=/etc/coredns/Corefile \
  --config.exposedports=53/udp --config.exposedports=53/tcp

stage() {
  install -m 0755 "$BIN/coredns" "$1/coredns"
  mkdir -p "$1/etc/coredns"
}
image_finish stage

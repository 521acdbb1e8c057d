#!/usr/bin/env bash
# containerd for the real test node (test/servers/node-cluster.ts): Debian's package, pinned, unpacked
# into $STACKBACKUP_TOOLS/node/bin (containerd, its runc v2 shim and ctr, used to import OCI archives).
# Nothing is installed system-wide and no service is started.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
VERSION="1.6.20~ds1-1+deb12u3"
PROGRAMS=(containerd containerd-shim-runc-v2 ctr)
present() { local p; for p in "${PROGRAMS[@]}"; do [[ -x "$NODE_TOOLS/bin/$p" ]] || return 1; done; }
if is_current node-containerd "$VERSION" && present; then log "containerd $VERSION already installed"; exit 0; fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
deb_extract containerd "$VERSION" "$work/root"
mkdir -p "$NODE_TOOLS/bin"
for p in "${PROGRAMS[@]}"; do install -m 0755 "$work/root/usr/bin/$p" "$NODE_TOOLS/bin/$p"; done
[[ "$("$NODE_TOOLS/bin/containerd" --version)" == *" 1.6.20"* ]] || die "the unpacked containerd does not report 1.6.20"
mark_current node-containerd "$VERSION"
log "containerd $VERSION installed into $NODE_TOOLS/bin"

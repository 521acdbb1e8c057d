#!/usr/bin/env bash
# The CNI plugins of the real test node (test/servers/node-cluster.ts): Debian's
# containernetworking-plugins, pinned, unpacked into $STACKBACKUP_TOOLS/node/cni (bridge with host-local
# IPAM, loopback, portmap). Kept off PATH: `bridge` would shadow iproute2's command.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
VERSION="1.1.1+ds1-3+b5"
PLUGINS=(bridge host-local loopback portmap)
present() { local p; for p in "${PLUGINS[@]}"; do [[ -x "$NODE_TOOLS/cni/$p" ]] || return 1; done; }
if is_current node-cni-plugins "$VERSION" && present; then log "CNI plugins $VERSION already installed"; exit 0; fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
deb_extract containernetworking-plugins "$VERSION" "$work/root"
mkdir -p "$NODE_TOOLS/cni"
for p in "${PLUGINS[@]}"; do install -m 0755 "$work/root/usr/lib/cni/$p" "$NODE_TOOLS/cni/$p"; done
mark_current node-cni-plugins "$VERSION"
log "CNI plugins $VERSION installed into $NODE_TOOLS/cni"

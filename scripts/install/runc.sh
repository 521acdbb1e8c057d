#!/usr/bin/env bash
# runc for the real test node (test/servers/node-cluster.ts): Debian's package, pinned, unpacked into
# $STACKBACKUP_TOOLS/node/bin (containerd's shim finds it on the node's PATH). It links the machine's
# libseccomp2 (part of the base system). Nothing is installed system-wide.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
VERSION="1.1.5+ds1-1+deb12u1"
if is_current node-runc "$VERSION" && [[ -x "$NODE_TOOLS/bin/runc" ]]; then log "runc $VERSION already installed"; exit 0; fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
deb_extract runc "$VERSION" "$work/root"
mkdir -p "$NODE_TOOLS/bin"
install -m 0755 "$work/root/usr/sbin/runc" "$NODE_TOOLS/bin/runc"
[[ "$("$NODE_TOOLS/bin/runc" --version)" == *"version 1.1.5"* ]] || die "the unpacked runc does not report 1.1.5 (is libseccomp2 installed?)"
mark_current node-runc "$VERSION"
log "runc $VERSION installed into $NODE_TOOLS/bin"

#!/usr/bin/env bash
# iptables (nft backend) for kube-proxy on the real test node (test/servers/node-cluster.ts): Debian's
# iptables and libnftnl11, pinned, unpacked into $STACKBACKUP_TOOLS/node/iptables, with wrappers
# iptables, iptables-save, iptables-restore (and ip6tables-*) in $STACKBACKUP_TOOLS/node/bin that run
# xtables-nft-multi with its own libraries. The machine's libxtables12 and libmnl0 (base system) are
# used. Nothing is installed system-wide; the rules only ever go into the test node's network namespace.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
VERSION="1.8.9-2"
LIBNFTNL_VERSION="1.2.4-2"
STAMP="iptables $VERSION libnftnl11 $LIBNFTNL_VERSION"
COMMANDS=(iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore)
present() { local c; for c in "${COMMANDS[@]}"; do [[ -x "$NODE_TOOLS/bin/$c" ]] || return 1; done; }
if is_current node-iptables "$STAMP" && present; then log "iptables $VERSION already installed"; exit 0; fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
deb_extract iptables "$VERSION" "$work/iptables"
deb_extract libnftnl11 "$LIBNFTNL_VERSION" "$work/libnftnl"
dest="$NODE_TOOLS/iptables"
rm -rf "$dest"; mkdir -p "$dest/lib" "$NODE_TOOLS/bin"
install -m 0755 "$work/iptables/usr/sbin/xtables-nft-multi" "$dest/xtables-nft-multi"
cp -a "$work/iptables/usr/lib/x86_64-linux-gnu/xtables" "$dest/xtables"
cp -a "$work/libnftnl/usr/lib/x86_64-linux-gnu/"libnftnl.so.* "$dest/lib/"
for c in "${COMMANDS[@]}"; do
  # xtables-nft-multi runs the command named by its first argument.
  printf '#!/bin/sh\nhere="$(dirname "$(readlink -f "$0")")/../iptables"\nLD_LIBRARY_PATH="$here/lib" XTABLES_LIBDIR="$here/xtables" exec "$here/xtables-nft-multi" %s "$@"\n' "$c" >"$NODE_TOOLS/bin/$c"
  chmod 0755 "$NODE_TOOLS/bin/$c"
done
[[ "$("$NODE_TOOLS/bin/iptables" --version)" == *"v1.8.9 (nf_tables)"* ]] || die "the unpacked iptables does not report v1.8.9 (nf_tables)"
mark_current node-iptables "$STAMP"
log "iptables $VERSION installed into $NODE_TOOLS"

#!/usr/bin/env bash
# CoreDNS for the real test node (test/servers/node-cluster.ts): the cluster's DNS, run as a process
# inside the node's network namespace. Built with the Go toolchain from scripts/install/coredns/
# (main.go with only the plugins the node uses; go.mod and go.sum pin CoreDNS and its modules).
# Rebuilt only when the pins change; about a minute on 2 cores after scripts/install/kubernetes.sh
# (the Kubernetes client packages come from the same build cache).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
COREDNS_VERSION="v1.12.3"
MODULE_DIR="$REPO_ROOT/scripts/install/coredns"
pins_hash="$(cat "$MODULE_DIR/go.mod" "$MODULE_DIR/go.sum" "$MODULE_DIR/main.go" | sha256sum | cut -c1-16)"
STAMP="coredns $COREDNS_VERSION ($pins_hash)"
if is_current coredns "$STAMP" && [[ -x "$BIN/coredns" ]]; then log "CoreDNS $COREDNS_VERSION already installed"; exit 0; fi
command -v go >/dev/null || die "Go toolchain not found: install Go 1.24+ to build CoreDNS for the test node"
log "building CoreDNS $COREDNS_VERSION (first run only; a minute or two on 2 cores)"
started=$SECONDS
staging="$(mktemp -d "$TOOLS/coredns-build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
(
  cd "$MODULE_DIR"
  CGO_ENABLED=0 GOFLAGS="-buildvcs=false -trimpath -mod=readonly" go build -ldflags "-s -w" -o "$staging/coredns" .
) || die "could not build CoreDNS; check that the Go module proxy is reachable"
[[ "$("$staging/coredns" -version)" == *"CoreDNS-${COREDNS_VERSION#v}"* ]] || die "the built coredns does not report $COREDNS_VERSION"
mv -f "$staging/coredns" "$BIN/coredns"
mark_current coredns "$STAMP"
log "built CoreDNS $COREDNS_VERSION in $((SECONDS - started)) s"

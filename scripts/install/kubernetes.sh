#!/usr/bin/env bash
# The Kubernetes the integration tests run against: kube-apiserver, kube-controller-manager and
# kube-scheduler (k8s.io/kubernetes), etcd (go.etcd.io/etcd/server/v3) and kwok (a simulated kubelet)
# for the control plane; kubelet and kube-proxy for the real test node (test/servers/node-cluster.ts).
# Built with the Go toolchain from the Go module proxy. Versions are pinned by
# scripts/install/kubernetes/go.mod and go.sum; all build in one `go build` so shared packages compile
# once. Rebuilt only when the pins change. Takes ~10-20 minutes on 2 cores the first time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KUBERNETES_VERSION="v1.33.13"
KUBERNETES_COMMIT="c029d48d28322ad0369aabdcf8b656fd3195cd30" # the tag's commit, as the Go module proxy reports it
ETCD_VERSION="v3.5.21"
KWOK_VERSION="v0.7.0"
MODULE_DIR="$REPO_ROOT/scripts/install/kubernetes"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy etcd kwok)

# The stamp covers the pins and the module files, so editing go.mod/go.sum triggers a rebuild.
pins_hash="$(cat "$MODULE_DIR/go.mod" "$MODULE_DIR/go.sum" "$MODULE_DIR/etcd/main.go" | sha256sum | cut -c1-16)"
STAMP="kubernetes $KUBERNETES_VERSION etcd $ETCD_VERSION kwok $KWOK_VERSION ($pins_hash)"

all_present() {
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done
}

if is_current kubernetes "$STAMP" && all_present; then
  log "kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION already installed"
  exit 0
fi
command -v go >/dev/null || die "Go toolchain not found: install Go 1.24+ to build the Kubernetes test control plane"

log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy $KUBERNETES_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION (first run only; 10-20 minutes on 2 cores)"
staging="$(mktemp -d "$TOOLS/kubernetes-build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
started=$SECONDS
# What Kubernetes' own build stamps into the binaries (hack/lib/version.sh): without it the server
# reports v0.0.0 and clients such as Helm see a wrong cluster version.
minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
version_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  version_flags+=" -X $pkg.gitCommit=$KUBERNETES_COMMIT -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
(
  cd "$MODULE_DIR"
  CGO_ENABLED=0 GOFLAGS="-buildvcs=false -trimpath -mod=readonly" go build -ldflags "-s -w$version_flags" -o "$staging/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubelet \
    k8s.io/kubernetes/cmd/kube-proxy \
    ./etcd \
    sigs.k8s.io/kwok/cmd/kwok
) || die "could not build the Kubernetes test control plane; check that the Go module proxy is reachable"

for b in "${BINARIES[@]}"; do
  [[ -x "$staging/$b" ]] || die "the build did not produce $b"
  mv -f "$staging/$b" "$BIN/$b"
done
# Output captured first: `cmd | grep -q` under pipefail fails when grep exits before cmd is done writing.
[[ "$("$BIN/kube-apiserver" --version)" == *"$KUBERNETES_VERSION"* ]] || die "kube-apiserver does not report $KUBERNETES_VERSION"
[[ "$("$BIN/kubelet" --version)" == *"$KUBERNETES_VERSION"* ]] || die "kubelet does not report $KUBERNETES_VERSION"
[[ "$("$BIN/etcd" --version)" == *"${ETCD_VERSION#v}"* ]] || die "etcd does not report $ETCD_VERSION"
mark_current kubernetes "$STAMP"
log "built the Kubernetes test control plane in $((SECONDS - started)) s"

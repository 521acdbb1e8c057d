#!/usr/bin/env bash
# Helm, built from the Go module proxy at pinned releases: Helm 4 (the current major) as `helm`, and the
# last approved Helm 3 as `helm3`, since many clusters are still managed with it. The chart tests
# render, lint and install the chart with both (test/chart/helm-versions.test.ts).
# ldflags as in Helm's own Makefiles: the release version (otherwise `helm version` says "-dev"). Helm 4
# derives the default Kubernetes version of `helm template`/`helm lint` from the client-go module it is
# built with; Helm 3 needs it stamped (client-go v0.36 -> Kubernetes 1.36; without it Helm 3 assumes
# 1.20 and refuses the chart's kubeVersion constraint).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HELM_VERSION="v4.3.2"
HELM3_VERSION="v3.21.4"
HELM3_K8S_MAJOR="1"
HELM3_K8S_MINOR="36"

GO_LDFLAGS="-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
  go_install helm-v4 helm.sh/helm/v4/cmd/helm "$HELM_VERSION"
[[ -x "$BIN/helm" ]] || die "helm $HELM_VERSION was built but $BIN/helm is missing; remove $TOOLS/stamps/helm-v4 and rerun"

flavour="$HELM3_VERSION k8s$HELM3_K8S_MAJOR.$HELM3_K8S_MINOR"
if is_current helm3 "$flavour" && [[ -x "$BIN/helm3" ]]; then
  log "helm3 $HELM3_VERSION already installed"
else
  command -v go >/dev/null || die "Go toolchain not found: install Go 1.24+ to build helm3"
  log "building helm3 $HELM3_VERSION from the Go module proxy (first run only; this takes a few minutes)"
  staging="$(mktemp -d "$TOOLS/helm3-build.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM3_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $pkg.k8sVersionMajor=$HELM3_K8S_MAJOR -X $pkg.k8sVersionMinor=$HELM3_K8S_MINOR"
  done
  GOBIN="$staging" GOFLAGS="-buildvcs=false -trimpath" CGO_ENABLED=0 go install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM3_VERSION" \
    || die "could not build helm3 (helm.sh/helm/v3/cmd/helm@$HELM3_VERSION); check that the Go module proxy is reachable"
  install -m 0755 "$staging/helm" "$BIN/helm3"
  mark_current helm3 "$flavour"
  log "helm3 $HELM3_VERSION installed into $BIN"
fi

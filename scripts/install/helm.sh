#!/usr/bin/env bash
# Helm 3, built from the Go module proxy at a pinned release, with the ldflags of Helm's own Makefile:
# the release version (otherwise `helm version` says "v3.x-dev") and the default Kubernetes version
# that `helm template` and `helm lint` assume, derived there from the k8s.io/client-go module Helm
# builds against (v0.37 -> Kubernetes 1.37); without it they assume 1.20 and refuse the chart's
# kubeVersion constraint.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HELM_VERSION="v3.22.0"
HELM_K8S_MAJOR="1"
HELM_K8S_MINOR="37"
flavour="$HELM_VERSION k8s$HELM_K8S_MAJOR.$HELM_K8S_MINOR"
# A build of the same release without these ldflags is rebuilt.
is_current helm-build "$flavour" || rm -f "$TOOLS/stamps/helm"
GO_LDFLAGS="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$HELM_K8S_MAJOR -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR \
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$HELM_K8S_MAJOR -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR" \
  go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
mark_current helm-build "$flavour"

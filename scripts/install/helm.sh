#!/usr/bin/env bash
# Helm 3, built from the Go module proxy at a pinned release (Helm's own `make build` does the same
# `go build` of ./cmd/helm). The version ldflag makes `helm version` report the real release instead
# of "v3.x-dev", which the chart's kubeVersion/helm checks and bug reports rely on.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HELM_VERSION="v3.22.0"
GO_LDFLAGS="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
  go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"

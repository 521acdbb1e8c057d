#!/usr/bin/env bash
# Prometheus' promtool, for `promtool test rules` on the chart's alert rules, `promtool check metrics` on the
# exporter's /metrics and parsing the dashboard's queries. Built from the Go module proxy, pinned.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PROMTOOL_VERSION="v0.316.0"
go_install promtool github.com/prometheus/prometheus/cmd/promtool "$PROMTOOL_VERSION"
"$BIN/promtool" --version >/dev/null 2>&1 || die "the installed promtool does not run; delete $TOOLS/stamps/promtool and retry"

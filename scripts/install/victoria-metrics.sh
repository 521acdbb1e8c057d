#!/usr/bin/env bash
# VictoriaMetrics single-node server, vmbackup and vmrestore at one pinned release, for the tests,
# the demo and the benchmark.
#
# Source: Debian's own build (package victoria-metrics, bookworm), which ships all three programs.
# The upstream module github.com/VictoriaMetrics/VictoriaMetrics is not served by the Go module proxy
# this project's machines reach ("not available" for every version), so `go install` cannot build it
# here. The package is only unpacked into the tools folder (no service is installed or started).
# The job image (scripts/images/recipes/jobs.sh) ships these very vmbackup/vmrestore binaries and the
# test cluster's VictoriaMetrics image (scripts/images/recipes/victoria-metrics.sh) this server.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
deb_install victoria-metrics "1.79.5+ds1-2+b5" usr/bin/victoria-metrics usr/bin/vmbackup usr/bin/vmrestore
"$BIN/vmbackup" -help >/dev/null 2>&1 || die "vmbackup does not run (it needs libzstd1: apt-get install libzstd1)"

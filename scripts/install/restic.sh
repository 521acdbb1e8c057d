#!/usr/bin/env bash
# restic at one pinned release, for the volume backup tests, the demo and the benchmark.
#
# Source: Debian's own build (package restic, bookworm). The Go module proxy this project's machines
# reach refuses github.com/restic/restic ("not available" for every version), so `go install` cannot
# build it here. The job image (scripts/images/recipes/jobs.sh) ships this very binary, so the image
# runs what the tests run. stackbackup also reads the messages of newer releases (for example
# "wrong password", which 0.17+ also reports as exit code 12).
# The package is only unpacked into the tools folder; the installed binary must report the pinned
# version, or the install fails.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RESTIC_VERSION="0.14.0"
deb_install restic "0.14.0-1+b5" usr/bin/restic
got="$("$BIN/restic" version 2>&1 || true)"
[[ "$got" == "restic $RESTIC_VERSION "* ]] || die "the installed restic reports \"$got\", expected restic $RESTIC_VERSION"

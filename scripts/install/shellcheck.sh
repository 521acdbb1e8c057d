#!/usr/bin/env bash
# ShellCheck for the lint test of restore/ and scripts/ (Debian's package, pinned).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
deb_install shellcheck "0.9.0-1" usr/bin/shellcheck
[[ "$("$BIN/shellcheck" --version)" == *$'\nversion: 0.9.0\n'* ]] || die "the installed shellcheck is not 0.9.0"

#!/usr/bin/env bash
# The pod sandbox image for the test cluster, stackbackup/pause:1.0: a static `pause` (pause.c next to
# this folder, built here with gcc -static) on a scratch base. Runs as 65535 like upstream's pause.
# shellcheck source=scripts/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

source_file="$IMAGES_DIR_SCRIPTS/pause.c"
command -v gcc >/dev/null || die "gcc not found: the pause image's program is built from $source_file (apt-get install gcc libc6-dev)"
image_begin pause "stackbackup/pause:1.0" scratch
image_input "$source_file"
image_config --config.user=65535:65535 --config.entrypoint=/pause --config.workingdir=/

stage() {
  gcc -static -Os -s -Wall -Wextra -Werror -o "$1/pause" "$source_file" \
    || die "could not build $source_file statically (the static C library: apt-get install libc6-dev)"
  chmod 0755 "$1/pause"
  "$1/pause" --version >/dev/null || die "the built pause does not run"
}
image_finish stage

#!/usr/bin/env bash
# The two images the real test node needs of its own, as OCI archives for `ctr images import`:
#   stackbackup.local/pause:3.10      the sandbox image: scripts/install/node/pause.c, built static with gcc
#   stackbackup.local/busybox:1.35.0  Debian's busybox-static with its applets, for the node's own tests
# Built without Docker: umoci (Debian's package, pinned, unpacked into $STACKBACKUP_TOOLS/node/bin)
# makes a one-layer image from a folder. Written to $STACKBACKUP_TOOLS/node/images; rebuilt only when a
# pin or a source changes. Needs gcc with static glibc (libc6-dev).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
UMOCI_VERSION="0.4.7+ds-3+b7"
BUSYBOX_VERSION="1:1.35.0-4+deb12u1+b1"
PAUSE_TAG="3.10"
BUSYBOX_TAG="1.35.0"
IMAGES="$NODE_TOOLS/images"
sources_hash="$(cat "$REPO_ROOT/scripts/install/node/pause.c" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
STAMP="umoci $UMOCI_VERSION busybox-static $BUSYBOX_VERSION pause $PAUSE_TAG ($sources_hash)"
if is_current node-images "$STAMP" && [[ -f "$IMAGES/pause-$PAUSE_TAG.tar" && -f "$IMAGES/busybox-$BUSYBOX_TAG.tar" && -x "$NODE_TOOLS/bin/umoci" ]]; then
  log "node images (pause $PAUSE_TAG, busybox $BUSYBOX_TAG) already built"
  exit 0
fi
command -v gcc >/dev/null || die "gcc not found: the pause image is built from scripts/install/node/pause.c (apt-get install gcc libc6-dev)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
mkdir -p "$NODE_TOOLS/bin" "$IMAGES"
deb_extract umoci "$UMOCI_VERSION" "$work/umoci"
install -m 0755 "$work/umoci/usr/bin/umoci" "$NODE_TOOLS/bin/umoci"
umoci="$NODE_TOOLS/bin/umoci"
deb_extract busybox-static "$BUSYBOX_VERSION" "$work/busybox"

# oci_archive NAME TAG ROOTFS_FILLER USER CONFIG_ARGS...: a one-layer image from an empty rootfs that
# ROOTFS_FILLER (a function taking the rootfs folder) fills, written as $IMAGES/NAME-TAG.tar with the
# full reference in io.containerd.image.name (what `ctr images import` names the image by).
oci_archive() {
  local name="$1" tag="$2" filler="$3"; shift 3
  local layout="$work/$name-layout" bundle="$work/$name-bundle"
  "$umoci" init --layout "$layout"
  "$umoci" new --image "$layout:$tag"
  "$umoci" unpack --image "$layout:$tag" "$bundle" >/dev/null
  "$filler" "$bundle/rootfs"
  # Same sources, same archive: fixed times.
  find "$bundle/rootfs" -exec touch -h -d @0 {} +
  "$umoci" repack --history.created 1970-01-01T00:00:00Z --history.created_by "scripts/install/node-images.sh" --image "$layout:$tag" "$bundle" >/dev/null
  "$umoci" config --image "$layout:$tag" --os linux --architecture amd64 --created 1970-01-01T00:00:00Z --no-history "$@"
  "$umoci" gc --layout "$layout"
  local ref="stackbackup.local/$name:$tag"
  sed -i "s|\"org.opencontainers.image.ref.name\":\"$tag\"|\"io.containerd.image.name\":\"$ref\",\"org.opencontainers.image.ref.name\":\"$tag\"|" "$layout/index.json"
  grep -q "\"io.containerd.image.name\":\"$ref\"" "$layout/index.json" || die "could not name $ref in $layout/index.json"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$layout" -cf "$IMAGES/$name-$tag.tar.tmp" .
  mv -f "$IMAGES/$name-$tag.tar.tmp" "$IMAGES/$name-$tag.tar"
  log "built $ref into $IMAGES/$name-$tag.tar"
}

fill_pause() {
  gcc -static -O2 -Wall -Wextra -Werror -o "$1/pause" "$REPO_ROOT/scripts/install/node/pause.c"
  strip "$1/pause"
}
fill_busybox() {
  local root="$1" applet
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
  chmod 1777 "$root/tmp"
  install -m 0755 "$work/busybox/bin/busybox" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [[ $applet == busybox || -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\nnogroup:x:65534:\n' >"$root/etc/group"
}

oci_archive pause "$PAUSE_TAG" fill_pause --config.entrypoint /pause --config.user 65535:65535
oci_archive busybox "$BUSYBOX_TAG" fill_busybox --config.cmd sh --config.env PATH=/bin --config.workingdir /
mark_current node-images "$STAMP"

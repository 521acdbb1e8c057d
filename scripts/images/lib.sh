#!/usr/bin/env bash
# Shared helpers of the image recipes (scripts/images/recipes/*.sh): container images built without
# Docker, from pinned parts, as OCI image archives that `ctr -n k8s.io images import` and
# `skopeo copy oci-archive:...` read.
#
# How an image is made:
#   1. a root filesystem base: `mmdebstrap --variant=minbase bookworm` with pinned extra packages
#      (built once, cached as a tarball keyed by its pins; the JRE and Python bases are derived from
#      that tarball), or a scratch base (only /etc/passwd, /etc/group and /tmp) for static programs;
#   2. the base as the first layer of an OCI layout (cached too, so every image on the same base has
#      the same first layer blob), then one layer with what the recipe stages (programs copied from
#      $STACKBACKUP_TOOLS, where the tests run them from), added with `umoci raw add-layer`;
#   3. the config (user, entrypoint, cmd, env, workdir, ports) with `umoci config`;
#   4. the layout as a tar: $STACKBACKUP_TOOLS/images/<name>-<tag>.tar, with the image's full name in
#      the index (io.containerd.image.name) and its tag (org.opencontainers.image.ref.name).
# Each image is rebuilt only when its cache key (this file, the recipe, the base's pins, the config
# and the content of every input) changes; $STACKBACKUP_TOOLS/images/index.json lists them all.
#
# A recipe:  source lib.sh; image_begin NAME REFERENCE BASE; image_input PATH...; image_config ARGS...;
#            image_finish STAGE_FUNCTION   (STAGE_FUNCTION DIR fills the image's layer in DIR)
# Sourced by the recipes; never run on its own.
set -Eeuo pipefail
shopt -s inherit_errexit

IMAGES_DIR_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$IMAGES_DIR_SCRIPTS/../.." && pwd)"
TOOLS="${STACKBACKUP_TOOLS:-$REPO_ROOT/.cache/tools}"
BIN="$TOOLS/bin"
IMAGES="$TOOLS/images"
UMOCI="$BIN/umoci"
mkdir -p "$IMAGES/rootfs" "$IMAGES/base"

# Every timestamp in the images (files of the staged layers, config, history): reproducible archives.
export SOURCE_DATE_EPOCH=1767225600
IMAGE_CREATED="2026-01-01T00:00:00Z"

# The non-root user of every image: uid/gid 65532 (as distroless' "nonroot"), home /tmp.
IMAGE_UID=65532
IMAGE_USER_NAME=stackbackup

# ---- pins of the Debian root filesystems (bookworm; exact versions, checked by apt)
DEBIAN_SUITE=bookworm
DEBIAN_SOURCES=(
  "deb http://deb.debian.org/debian bookworm main"
  "deb http://deb.debian.org/debian bookworm-updates main"
  "deb http://deb.debian.org/debian-security bookworm-security main"
)
# minbase plus: CA certificates (S3/Azure endpoints over TLS) and libzstd1 (Debian's victoria-metrics).
DEBIAN_BASE_PACKAGES=("ca-certificates=20250419~deb12u2" "libzstd1=1.5.4+dfsg2-5+deb12u1")
# s3proxy and Elasticsearch: Java 17.
DEBIAN_JRE_PACKAGES=("openjdk-17-jre-headless=17.0.21.1+2-1~deb12u1")
# The StackGraph stand-in: Python 3 with sqlite3.
DEBIAN_PYTHON_PACKAGES=("python3=3.11.2-1+b1")
# Left out of every Debian root filesystem: documentation, manuals, translations.
DEBIAN_DPKG_OPTS=(
  "path-exclude=/usr/share/doc/*" "path-include=/usr/share/doc/*/copyright"
  "path-exclude=/usr/share/man/*" "path-exclude=/usr/share/info/*"
  "path-exclude=/usr/share/locale/*" "path-exclude=/usr/share/lintian/*"
)

log() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] ERROR: %s\n' "$*" >&2; exit 1; }

require_tools() {
  [[ -x "$UMOCI" ]] || die "umoci not found at $UMOCI: run bash scripts/install/image-tools.sh"
  command -v mmdebstrap >/dev/null || die "mmdebstrap not found: run bash scripts/install/image-tools.sh"
  command -v node >/dev/null || die "node not found (Node.js 20.19+ is required)"
  [[ $(id -u) -eq 0 ]] || die "building images needs root (mmdebstrap's root mode and file ownership in the layers); run as root or with sudo"
}

sha() { sha256sum | cut -d' ' -f1; }

# hash_path PATH: content hash of a file or folder (names, modes, link targets and bytes), following
# a symlink given as PATH itself. Memoized by the files' metadata (names, sizes, times, modes) in
# $IMAGES/.hash-memo, so that a warm build does not read hundreds of MB again.
hash_path() {
  local path="$1" meta content
  [[ -e "$path" ]] || die "image input $path is missing"
  path="$(readlink -f "$path")"
  meta="$( { echo "$path"; find "$path" -printf '%P %y %s %T@ %m %l\n' | LC_ALL=C sort; } | sha)"
  content="$(sed -n "s/^$meta //p" "$IMAGES/.hash-memo" 2>/dev/null | head -n 1 || true)"
  if [[ -z "$content" ]]; then
    if [[ -d "$path" ]]; then
      content="$(cd "$path" && { find . \( -type f -o -type l \) -printf '%p %m %l\n' | LC_ALL=C sort; \
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum; } | sha)"
    else
      content="$( { stat -c '%a' "$path"; sha256sum <"$path"; } | sha)"
    fi
    printf '%s %s\n' "$meta" "$content" >>"$IMAGES/.hash-memo"
  fi
  printf '%s' "$content"
}

# deterministic_tar DIR OUT: DIR's contents as an uncompressed tar (layer order and times fixed,
# ownership as staged).
deterministic_tar() {
  tar --create --file "$2" --directory "$1" --sort=name --numeric-owner --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime .
}

# ---- root filesystems

mmdebstrap_version() { dpkg-query -W -f='${Version}' mmdebstrap 2>/dev/null || echo unknown; }

# rootfs_key BASE: the pins a base root filesystem is made of.
rootfs_key() {
  case "$1" in
    debian) printf '%s\n' "$(mmdebstrap_version)" "$DEBIAN_SUITE" "${DEBIAN_SOURCES[@]}" "${DEBIAN_BASE_PACKAGES[@]}" \
              "${DEBIAN_DPKG_OPTS[@]}" "$IMAGE_UID" "$IMAGE_USER_NAME" "$SOURCE_DATE_EPOCH" "$(declare -f rootfs_debian)" | sha ;;
    debian-jre) printf '%s\n' "$(rootfs_key debian)" "${DEBIAN_JRE_PACKAGES[@]}" "$(declare -f rootfs_derive)" | sha ;;
    debian-python) printf '%s\n' "$(rootfs_key debian)" "${DEBIAN_PYTHON_PACKAGES[@]}" "$(declare -f rootfs_derive)" | sha ;;
    scratch) printf '%s\n' "$IMAGE_UID" "$IMAGE_USER_NAME" "$(declare -f rootfs_scratch)" | sha ;;
    *) die "unknown image base \"$1\" (debian, debian-jre, debian-python or scratch)" ;;
  esac
}

# rootfs_debian OUT: minbase + the base packages + the user 65532, as a tarball (no /dev entries).
rootfs_debian() {
  local include opt dpkgopts=()
  include="$(IFS=,; echo "${DEBIAN_BASE_PACKAGES[*]}")"
  for opt in "${DEBIAN_DPKG_OPTS[@]}"; do dpkgopts+=("--dpkgopt=$opt"); done
  # shellcheck disable=SC2016 # $1 is expanded by mmdebstrap's hook (the root filesystem)
  mmdebstrap --quiet --variant=minbase --mode=root --format=tar --include="$include" "${dpkgopts[@]}" \
    --skip=output/dev,output/mknod \
    --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname"' \
    --customize-hook="chroot \"\$1\" groupadd --gid $IMAGE_UID $IMAGE_USER_NAME" \
    --customize-hook="chroot \"\$1\" useradd --uid $IMAGE_UID --gid $IMAGE_UID --no-create-home --home-dir /tmp --shell /usr/sbin/nologin $IMAGE_USER_NAME" \
    --customize-hook='rm -f "$1/var/log/"*.log "$1/var/cache/ldconfig/aux-cache"' \
    "$DEBIAN_SUITE" "$1" "${DEBIAN_SOURCES[@]}"
}

# rootfs_derive BASE_TAR OUT PKG=VERSION...: BASE_TAR with more pinned packages (no recommends).
rootfs_derive() {
  local base="$1" out="$2"; shift 2
  # shellcheck disable=SC2016 # $1 is expanded by mmdebstrap's hook (the root filesystem)
  mmdebstrap --quiet --variant=custom --mode=root --format=tar --skip=output/dev,output/mknod \
    --setup-hook="tar --xattrs --xattrs-include='*' -C \"\$1\" -xf '$base'" \
    --customize-hook='mkdir -p "$1/usr/share/man/man1"' \
    --customize-hook="chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $* >/dev/null" \
    --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname" "$1/var/log/"*.log "$1/var/log/apt/"* "$1/var/cache/ldconfig/aux-cache"' \
    --customize-hook='rm -rf "$1/usr/share/man"' \
    "$DEBIAN_SUITE" "$out" "${DEBIAN_SOURCES[@]}" >/dev/null
}

# rootfs_scratch OUT: nothing but the user 65532 (passwd, group) and a world-writable /tmp.
rootfs_scratch() {
  local dir; dir="$(mktemp -d)"
  mkdir -p "$dir/etc" "$dir/tmp"
  chmod 1777 "$dir/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\n%s:x:%s:%s:%s:/tmp:/sbin/nologin\n' "$IMAGE_USER_NAME" "$IMAGE_UID" "$IMAGE_UID" "$IMAGE_USER_NAME" >"$dir/etc/passwd"
  printf 'root:x:0:\n%s:x:%s:\n' "$IMAGE_USER_NAME" "$IMAGE_UID" >"$dir/etc/group"
  chmod 0644 "$dir/etc/passwd" "$dir/etc/group"
  chown -R 0:0 "$dir"
  deterministic_tar "$dir" "$1"
  rm -rf "$dir"
}

# rootfs BASE: path of the cached root filesystem tarball of BASE (built when its pins changed).
rootfs() {
  local base="$1" key out tmp
  key="$(rootfs_key "$base")"
  out="$IMAGES/rootfs/$base-${key:0:16}.tar"
  if [[ -f "$out" ]]; then printf '%s' "$out"; return 0; fi
  tmp="$out.partial.tar"
  rm -f "$tmp"
  log "building the $base root filesystem (first time or a pin changed)"
  local start=$SECONDS
  case "$base" in
    debian) rootfs_debian "$tmp" >&2 || die "mmdebstrap failed for the debian base; check that deb.debian.org is reachable and the pins in ${BASH_SOURCE[0]} still exist (apt-cache madison PKG)" ;;
    debian-jre) rootfs_derive "$(rootfs debian)" "$tmp" "${DEBIAN_JRE_PACKAGES[@]}" >&2 || die "could not add ${DEBIAN_JRE_PACKAGES[*]} to the debian base; check the pins (apt-cache madison PKG)" ;;
    debian-python) rootfs_derive "$(rootfs debian)" "$tmp" "${DEBIAN_PYTHON_PACKAGES[@]}" >&2 || die "could not add ${DEBIAN_PYTHON_PACKAGES[*]} to the debian base; check the pins (apt-cache madison PKG)" ;;
    scratch) rootfs_scratch "$tmp" ;;
  esac
  mv "$tmp" "$out"
  # Older tarballs of this base (other pins) are no longer used.
  find "$IMAGES/rootfs" -maxdepth 1 -regextype posix-extended -regex ".*/$base-[0-9a-f]{16}\.tar(\.partial\.tar)?" ! -path "$out" -delete
  log "$base root filesystem ready ($(du -h "$out" | cut -f1), $((SECONDS - start)) s)"
  printf '%s' "$out"
}

# base_layout BASE: an OCI layout (tag "base") whose only layer is BASE's root filesystem, cached.
base_layout() {
  local base="$1" key dir tar
  key="$(rootfs_key "$base")"
  dir="$IMAGES/base/$base-${key:0:16}"
  if [[ -f "$dir/index.json" ]]; then printf '%s' "$dir"; return 0; fi
  tar="$(rootfs "$base")"
  rm -rf "$dir.partial"
  "$UMOCI" init --layout "$dir.partial"
  "$UMOCI" new --image "$dir.partial:base"
  "$UMOCI" raw add-layer --image "$dir.partial:base" --history.created="$IMAGE_CREATED" \
    --history.created_by="scripts/images/lib.sh: $base root filesystem" "$tar"
  find "$IMAGES/base" -mindepth 1 -maxdepth 1 -regextype posix-extended -regex ".*/$base-[0-9a-f]{16}" -exec rm -rf {} +
  mv "$dir.partial" "$dir"
  printf '%s' "$dir"
}

# ---- images

IMG_NAME="" IMG_REF="" IMG_TAG="" IMG_BASE="" IMG_RECIPE=""
IMG_INPUTS=() IMG_CONFIG=() IMG_CHOWNS=()

# image_begin NAME REFERENCE BASE: starts the recipe of image NAME (REFERENCE repository:tag).
image_begin() {
  IMG_NAME="$1" IMG_REF="$2" IMG_BASE="$3"
  IMG_TAG="${IMG_REF##*:}"
  IMG_RECIPE="$(readlink -f "${BASH_SOURCE[1]}")"
  [[ "$IMG_REF" == *:* && "$IMG_TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "image reference \"$IMG_REF\" needs a valid :tag"
}
# image_input PATH...: files or folders the image is made from (their content is in the cache key).
image_input() { IMG_INPUTS+=("$@"); }
# image_config ARG...: `umoci config` arguments (--config.user=..., --config.entrypoint=..., ...).
image_config() { IMG_CONFIG+=("$@"); }
# image_chown UID:GID PATH...: paths inside the staged layer owned by someone else than root.
image_chown() { IMG_CHOWNS+=("$@"); }

# image_archive NAME TAG: where the archive of an image goes.
image_archive() { printf '%s/%s-%s.tar' "$IMAGES" "$1" "$2"; }

# image_finish STAGE_FUNCTION: builds the image unless the cached archive has the same key.
image_finish() {
  local stage_fn="$1" key input archive meta
  archive="$(image_archive "$IMG_NAME" "$IMG_TAG")"
  meta="$IMAGES/$IMG_NAME-$IMG_TAG.json"
  key="$( {
    sha256sum <"${BASH_SOURCE[0]}"
    sha256sum <"$IMG_RECIPE"
    sha256sum <"$IMAGES_DIR_SCRIPTS/oci.mjs"
    printf '%s\n' "$IMG_NAME" "$IMG_REF" "$IMG_BASE" "$(rootfs_key "$IMG_BASE")" "${IMG_CONFIG[@]}" "${IMG_CHOWNS[@]}"
    for input in "${IMG_INPUTS[@]}"; do printf '%s %s\n' "$input" "$(hash_path "$input")"; done
  } | sha)"
  if [[ -f "$archive" && -f "$meta" && "$(cat "$archive.key" 2>/dev/null)" == "$key" ]]; then
    log "$IMG_REF is current ($archive)"
    return 0
  fi
  require_tools
  local start=$SECONDS work layout stage
  log "building $IMG_REF"
  work="$(mktemp -d "$IMAGES/.build-$IMG_NAME.XXXXXX")"
  # shellcheck disable=SC2064 # the folder is known now
  trap "rm -rf '$work'" EXIT
  layout="$work/layout"
  stage="$work/stage"
  mkdir -p "$layout/blobs" "$stage"
  # The base's blobs are shared by hard links (blobs are never changed, only added); its index is copied.
  local base; base="$(base_layout "$IMG_BASE")"
  cp -al "$base/blobs/." "$layout/blobs/"
  cp "$base/index.json" "$base/oci-layout" "$layout/"

  # /dev is left out of the root filesystems (no device nodes); the runtime mounts it here.
  mkdir -m 0755 "$stage/dev"
  "$stage_fn" "$stage"
  chown -R 0:0 "$stage"
  local i
  for ((i = 0; i + 1 < ${#IMG_CHOWNS[@]}; i += 2)); do chown "${IMG_CHOWNS[i]}" "$stage/${IMG_CHOWNS[i + 1]#/}"; done
  deterministic_tar "$stage" "$work/layer.tar"
  "$UMOCI" raw add-layer --image "$layout:base" --tag "$IMG_TAG" --history.created="$IMAGE_CREATED" \
    --history.created_by="scripts/images/recipes/$IMG_NAME.sh" "$work/layer.tar"
  "$UMOCI" config --image "$layout:$IMG_TAG" --created="$IMAGE_CREATED" --history.created="$IMAGE_CREATED" \
    --history.created_by="scripts/images/recipes/$IMG_NAME.sh (config)" --author=stackbackup \
    --config.label="org.opencontainers.image.title=$IMG_NAME" \
    --config.label="org.opencontainers.image.source=scripts/images/recipes/$IMG_NAME.sh" "${IMG_CONFIG[@]}"
  "$UMOCI" rm --image "$layout:base"
  "$UMOCI" gc --layout "$layout"
  node "$IMAGES_DIR_SCRIPTS/oci.mjs" name "$layout" "$IMG_TAG" "$(full_reference "$IMG_REF")"
  (cd "$layout" && tar --create --file "$work/image.tar" --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime="@$SOURCE_DATE_EPOCH" oci-layout index.json blobs)
  mv "$work/image.tar" "$archive"
  node "$IMAGES_DIR_SCRIPTS/oci.mjs" meta "$layout" "$IMG_TAG" "$meta" "$IMG_NAME" "$IMG_REF" "$archive"
  printf '%s' "$key" >"$archive.key"
  rm -rf "$work"
  trap - EXIT
  log "built $IMG_REF: $archive ($(du -h "$archive" | cut -f1), $((SECONDS - start)) s)"
}

# full_reference REF: REF as containerd names it (docker.io/ and library/ added as Docker does).
full_reference() {
  local ref="$1" first="${1%%/*}"
  if [[ "$ref" != */* ]]; then ref="docker.io/library/$ref"
  elif [[ "$first" != *.* && "$first" != *:* && "$first" != localhost ]]; then ref="docker.io/$ref"
  fi
  printf '%s' "$ref"
}

# stamp NAME: the version an install script recorded for NAME (scripts/install/*.sh), or fails.
stamp() {
  [[ -f "$TOOLS/stamps/$1" ]] || die "$1 is not installed in $TOOLS: run bash scripts/install/${2:-$1}.sh (scripts/setup.sh installs everything)"
  cat "$TOOLS/stamps/$1"
}

# chart_app_version: the chart's appVersion (the job image's tag).
chart_app_version() {
  local v
  v="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$REPO_ROOT/chart/Chart.yaml")"
  [[ -n "$v" ]] || die "no appVersion in chart/Chart.yaml"
  printf '%s' "$v"
}

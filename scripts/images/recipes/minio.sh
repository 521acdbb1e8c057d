#!/usr/bin/env bash
# MinIO for the test cluster, stackbackup/minio:<module version>: our pinned MinIO build
# (scripts/install/minio.sh, a static Go binary) on a scratch base. Runs as 65532 with data in /data
# (the chart mounts its claim there): `minio server /data`.
# shellcheck source=scripts/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

version="$(stamp minio)"
image_begin minio "stackbackup/minio:$version" scratch
image_input "$BIN/minio"
image_config --config.user="$IMAGE_UID:$IMAGE_UID" --config.workingdir=/data \
  --config.env=PATH=/usr/bin:/bin --config.env=HOME=/tmp \
  --config.entrypoint=minio --config.cmd=server --config.cmd=/data \
  --config.exposedports=9000/tcp
image_chown "$IMAGE_UID:$IMAGE_UID" /data

stage() {
  mkdir -p "$1/usr/bin" "$1/data"
  ln -s usr/bin "$1/bin"
  install -m 0755 "$BIN/minio" "$1/usr/bin/minio"
}
image_finish stage

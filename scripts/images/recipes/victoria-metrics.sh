#!/usr/bin/env bash
# VictoriaMetrics single-node for the test cluster, stackbackup/victoria-metrics:<version>: Debian's
# build (scripts/install/victoria-metrics.sh, the same release as vmbackup/vmrestore in the job image)
# on the Debian base (it links libzstd). Runs as 65532, data in /storage, port 8428.
# shellcheck source=scripts/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

version="$(stamp victoria-metrics)"
version="${version%%+*}"
image_begin victoria-metrics "stackbackup/victoria-metrics:$version" debian
image_input "$BIN/victoria-metrics"
image_config --config.user="$IMAGE_UID:$IMAGE_UID" --config.workingdir=/storage \
  --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.env=HOME=/tmp \
  --config.entrypoint=victoria-metrics \
  --config.cmd=-storageDataPath=/storage --config.cmd=-httpListenAddr=:8428 \
  --config.exposedports=8428/tcp
image_chown "$IMAGE_UID:$IMAGE_UID" /storage

stage() {
  mkdir -p "$1/usr/local/bin" "$1/storage"
  install -m 0755 "$BIN/victoria-metrics" "$1/usr/local/bin/victoria-metrics"
}
image_finish stage

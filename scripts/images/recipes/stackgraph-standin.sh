#!/usr/bin/env bash
# The StackGraph stand-in for the test cluster, stackbackup/stackgraph-standin:<chart appVersion>:
# sts-graph-standin (scripts/install/stackgraph-standin/) on the Debian base with Python 3 (sqlite3),
# in the place of StackState's server image as the chart's StackGraph tool image
# (`sts-graph-standin -db FILE -export FILE` / `-import FILE [-force]`). Runs as 65532.
# shellcheck source=scripts/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

source_file="$REPO_ROOT/scripts/install/stackgraph-standin/sts-graph-standin.py"
image_begin stackgraph-standin "stackbackup/stackgraph-standin:$(chart_app_version)" debian-python
image_input "$source_file"
image_config --config.user="$IMAGE_UID:$IMAGE_UID" --config.workingdir=/data \
  --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.env=HOME=/tmp \
  --config.entrypoint=sts-graph-standin
image_chown "$IMAGE_UID:$IMAGE_UID" /data

stage() {
  mkdir -p "$1/usr/local/bin" "$1/data"
  install -m 0755 "$source_file" "$1/usr/local/bin/sts-graph-standin"
}
image_finish stage

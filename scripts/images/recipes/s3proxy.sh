#!/usr/bin/env bash
# s3proxy for the test cluster, stackbackup/s3proxy:<version>: the jar scripts/install/s3proxy.sh
# fetched (pinned SHA-256) on the Debian base with Java 17, at /opt/s3proxy/s3proxy like the upstream
# image (the chart's gateway pod runs /bin/sh /opt/stackbackup/run-s3proxy.sh, which starts
# `java -jar /opt/s3proxy/s3proxy`). Runs as 65532.
# shellcheck source=scripts/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

version="$(stamp s3proxy)"
image_begin s3proxy "stackbackup/s3proxy:$version" debian-jre
image_input "$TOOLS/s3proxy/s3proxy.jar"
image_config --config.user="$IMAGE_UID:$IMAGE_UID" --config.workingdir=/opt/s3proxy \
  --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.env=HOME=/tmp \
  --config.entrypoint=java --config.entrypoint=-jar --config.entrypoint=/opt/s3proxy/s3proxy \
  --config.cmd=--properties --config.cmd=/tmp/s3proxy.properties \
  --config.exposedports=9000/tcp

stage() {
  mkdir -p "$1/opt/s3proxy"
  install -m 0644 "$TOOLS/s3proxy/s3proxy.jar" "$1/opt/s3proxy/s3proxy"
}
image_finish stage

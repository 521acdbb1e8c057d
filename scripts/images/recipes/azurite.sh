#!/usr/bin/env bash
# Azurite's blob service for the test cluster, stackbackup/azurite:<version>: the npm install of
# scripts/install/azurite.sh at /opt/azurite on Node.js 22 (scripts/install/node22.sh) and the Debian
# base. Runs as 65532, data in /data, blob port 10000.
# shellcheck source=scripts/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

version="$(stamp azurite)"
stamp node22 >/dev/null
image_begin azurite "stackbackup/azurite:$version" debian
image_input "$TOOLS/node22/bin/node" "$TOOLS/azurite/node_modules"
image_config --config.user="$IMAGE_UID:$IMAGE_UID" --config.workingdir=/data \
  --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.env=HOME=/tmp \
  --config.env=NODE_ENV=production \
  --config.entrypoint=node --config.entrypoint=/opt/azurite/node_modules/azurite/dist/src/blob/main.js \
  --config.cmd=--blobHost --config.cmd=0.0.0.0 --config.cmd=--blobPort --config.cmd=10000 \
  --config.cmd=--location --config.cmd=/data --config.cmd=--loose --config.cmd=--skipApiVersionCheck \
  --config.cmd=--disableTelemetry \
  --config.exposedports=10000/tcp
image_chown "$IMAGE_UID:$IMAGE_UID" /data

stage() {
  mkdir -p "$1/usr/local/bin" "$1/opt/azurite" "$1/data"
  install -m 0755 "$TOOLS/node22/bin/node" "$1/usr/local/bin/node"
  cp -R "$TOOLS/azurite/node_modules" "$1/opt/azurite/node_modules"
  chmod -R u=rwX,go=rX "$1/opt/azurite"
}
image_finish stage

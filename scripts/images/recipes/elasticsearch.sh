#!/usr/bin/env bash
# Elasticsearch for the test cluster, stackbackup/elasticsearch:<version>: the integ-test zip of
# scripts/install/elasticsearch.sh (the server the tests run) at /usr/share/elasticsearch, on the
# Debian base with Java 17 (ES_JAVA_HOME). Runs as 65532 (Elasticsearch refuses root); config, data
# and logs belong to that user (mount volumes there for a read-only root filesystem). Ports 9200, 9300.
# The default arguments start a single node without security (no auto-generated certificates in
# config/); pass your own -E settings (or an elasticsearch.yml in config/) to change that.
# No VOLUME in any image: a runtime makes those root-owned (runc: tmpfs) and Kubernetes mounts its own.
# shellcheck source=scripts/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

version="$(stamp elasticsearch)"
home="$TOOLS/elasticsearch/$version"
es=/usr/share/elasticsearch
image_begin elasticsearch "stackbackup/elasticsearch:$version" debian-jre
image_input "$home"
image_config --config.user="$IMAGE_UID:$IMAGE_UID" --config.workingdir="$es" \
  --config.env=PATH="$es/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" --config.env=HOME=/tmp \
  --config.env=ES_JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 --config.env=ES_PATH_CONF="$es/config" \
  --config.env=ES_TMPDIR=/tmp \
  --config.entrypoint="$es/bin/elasticsearch" --config.cmd=-Ediscovery.type=single-node --config.cmd=-Expack.security.enabled=false \
  --config.exposedports=9200/tcp --config.exposedports=9300/tcp
image_chown "$IMAGE_UID:$IMAGE_UID" "$es/config" "$IMAGE_UID:$IMAGE_UID" "$es/data" "$IMAGE_UID:$IMAGE_UID" "$es/logs"

stage() {
  mkdir -p "$1/usr/share"
  cp -R "$home" "$1$es"
  chmod -R u+rwX,go=rX "$1$es"
  mkdir -p "$1$es/data" "$1$es/logs"
}
image_finish stage

#!/usr/bin/env bash
# Elasticsearch for the tests: the integration-test distribution Elastic publishes on Maven Central
# (group org.elasticsearch.distribution.integ-test-zip, artifact elasticsearch), pinned, checked
# against a pinned SHA-256 and unpacked into .cache/tools/elasticsearch/<version>.
#
# Why this one: the full distribution cannot be downloaded from this project's machines, this one can,
# and it runs on the machine's Java 17 (it ships no JDK; test/servers/elasticsearch.ts points
# ES_JAVA_HOME at the machine's Java). It is the same server (snapshots, restores, the fs repository,
# security) without the optional modules: no repository-s3 and no snapshot lifecycle management
# (SLM). The tests run every snapshot, list, restore and cronjob-engine path against it with an fs
# repository; the S3 repository and SLM requests are checked against the official client's types.
# Version 8.19.2 is also the version of the @elastic/elasticsearch client in package.json.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ES_VERSION="8.19.2"
ES_SHA256="b407aeb15d2af3f487834c500829ee54269f8a0c4a1a2dc06126356375ed8298"
ES_URL="https://repo1.maven.org/maven2/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
DEST="$TOOLS/elasticsearch/$ES_VERSION"

if is_current elasticsearch "$ES_VERSION" && [[ -x "$DEST/bin/elasticsearch" ]]; then
  log "elasticsearch $ES_VERSION already installed"; exit 0
fi
command -v java >/dev/null || die "Java not found: Elasticsearch $ES_VERSION needs Java 17+ (apt-get install openjdk-17-jre-headless)"
command -v unzip >/dev/null || die "unzip not found (apt-get install unzip)"
command -v curl >/dev/null || die "curl not found (apt-get install curl)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
log "fetching Elasticsearch $ES_VERSION (integ-test-zip, ~93 MiB) from Maven Central"
curl --fail --silent --show-error --location --retry 3 --output "$work/es.zip" "$ES_URL" \
  || die "could not download $ES_URL; check that Maven Central is reachable"
actual="$(sha256sum "$work/es.zip" | cut -d' ' -f1)"
[[ "$actual" == "$ES_SHA256" ]] || die "Elasticsearch zip checksum mismatch: expected $ES_SHA256, got $actual"
unzip -q "$work/es.zip" -d "$work/unpacked"
[[ -x "$work/unpacked/elasticsearch-$ES_VERSION/bin/elasticsearch" ]] || die "unexpected layout of the Elasticsearch zip"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$work/unpacked/elasticsearch-$ES_VERSION" "$DEST"
# Elasticsearch refuses to run as root, so tests run as root start it as an unprivileged user: the
# installation must be readable (it is never written to: config, data, logs and temp files live in
# each test server's own folder).
chmod -R a+rX "$DEST"
mark_current elasticsearch "$ES_VERSION"
log "elasticsearch $ES_VERSION installed into $DEST"

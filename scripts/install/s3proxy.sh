#!/usr/bin/env bash
# s3proxy (the S3 gateway the chart deploys for minio.s3gateway / minio.azuregateway), from Maven
# Central at a pinned release: its self-contained jar-with-dependencies, fetched with Maven into the
# local repository, checked against a pinned SHA-256, copied to .cache/tools/s3proxy and wrapped as
# .cache/tools/bin/s3proxy. Needs Java 17+ and mvn (both Debian packages: openjdk-17-jre-headless, maven).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
S3PROXY_VERSION="4.1.0"
S3PROXY_SHA256="a4d025969aaf796616ed4b1e2491d87d455ce84bb28cb9db086b2e6aaa68b48d"

if is_current s3proxy "$S3PROXY_VERSION" && [[ -x "$BIN/s3proxy" && -f "$TOOLS/s3proxy/s3proxy.jar" ]]; then
  log "s3proxy $S3PROXY_VERSION already installed"; exit 0
fi
command -v java >/dev/null || die "Java not found: s3proxy $S3PROXY_VERSION needs Java 17+ (apt-get install openjdk-17-jre-headless)"
command -v mvn >/dev/null || die "Maven not found: needed to fetch s3proxy from Maven Central (apt-get install maven)"
log "fetching s3proxy $S3PROXY_VERSION from Maven Central"
mkdir -p "$TOOLS/s3proxy"
mvn -B -q dependency:copy \
  -Dartifact="org.gaul:s3proxy:$S3PROXY_VERSION:jar:jar-with-dependencies" \
  -DoutputDirectory="$TOOLS/s3proxy" -Dmdep.stripVersion=false -Dmdep.overWriteReleases=true \
  || die "could not fetch org.gaul:s3proxy:$S3PROXY_VERSION; check that Maven Central is reachable"
jar="$TOOLS/s3proxy/s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar"
[[ -f "$jar" ]] || die "s3proxy jar not found at $jar after the Maven fetch"
actual="$(sha256sum "$jar" | cut -d' ' -f1)"
[[ "$actual" == "$S3PROXY_SHA256" ]] || die "s3proxy jar checksum mismatch: expected $S3PROXY_SHA256, got $actual"
mv -f "$jar" "$TOOLS/s3proxy/s3proxy.jar"
cat >"$BIN/s3proxy" <<WRAPPER
#!/usr/bin/env bash
# s3proxy $S3PROXY_VERSION (installed by scripts/install/s3proxy.sh). Usage: s3proxy --properties FILE
exec java \${S3PROXY_JAVA_OPTS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1} -jar "$TOOLS/s3proxy/s3proxy.jar" "\$@"
WRAPPER
chmod +x "$BIN/s3proxy"
mark_current s3proxy "$S3PROXY_VERSION"

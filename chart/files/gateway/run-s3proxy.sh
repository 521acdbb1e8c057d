#!/bin/sh
# Starts s3proxy, the S3 gateway of the minio.s3gateway and minio.azuregateway modes.
#
# Credentials come as files (mounted Secrets), never as environment literals or arguments: this script
# writes them into a properties file only this user can read (on an in-memory emptyDir in the pod) and
# starts s3proxy with --properties, so they show up neither in `ps` nor in `kubectl describe`.
# The same script runs in the chart's gateway pod and in test/integration/gateway.test.ts.
#
# Environment:
#   S3PROXY_ENDPOINT         where to listen, e.g. http://0.0.0.0:9000
#   S3PROXY_AUTHORIZATION    aws-v2-or-v4
#   S3PROXY_IDENTITY_FILE    file holding minio.accessKey (what jobs sign S3 requests with)
#   S3PROXY_CREDENTIAL_FILE  file holding minio.secretKey
#   JCLOUDS_PROVIDER         s3, aws-s3, aws-s3-sdk, azureblob or azureblob-sdk
#   JCLOUDS_ENDPOINT         backend endpoint; for Azure, empty means https://<account>.blob.core.windows.net
#   JCLOUDS_REGION           optional backend region
#   JCLOUDS_IDENTITY_FILE    file holding the backend identity (AWS access key, Azure account name)
#   JCLOUDS_CREDENTIAL_FILE  file holding the backend credential (AWS secret key, Azure account key)
#   S3PROXY_CONF_DIR         where to write the properties file (default /tmp)
#   S3PROXY_JAR              the s3proxy jar (default /opt/s3proxy/s3proxy, as in the s3proxy image)
#   S3PROXY_JAVA_OPTS        extra JVM options
set -eu

fail() { echo "run-s3proxy: $*" >&2; exit 1; }

# secret NAME: the first line of the file named by $NAME_FILE, which must exist and not be empty.
secret() {
  eval "file=\${$1_FILE:-}"
  [ -n "$file" ] || fail "$1_FILE is not set"
  [ -r "$file" ] || fail "$1_FILE ($file) is not readable: is the Secret mounted?"
  value=$(head -n 1 "$file" | tr -d '\r')
  [ -n "$value" ] || fail "$1_FILE ($file) is empty"
  # Java properties treat backslashes as escapes.
  printf '%s' "$value" | sed 's/\\/\\\\/g'
}

: "${S3PROXY_ENDPOINT:?S3PROXY_ENDPOINT is not set}"
: "${JCLOUDS_PROVIDER:?JCLOUDS_PROVIDER is not set}"
identity=$(secret JCLOUDS_IDENTITY)
endpoint=${JCLOUDS_ENDPOINT:-}
case "$JCLOUDS_PROVIDER" in
  azureblob|azureblob-sdk) [ -n "$endpoint" ] || endpoint="https://${identity}.blob.core.windows.net" ;;
  s3|aws-s3|aws-s3-sdk) ;;
  *) fail "JCLOUDS_PROVIDER \"$JCLOUDS_PROVIDER\" is not one of s3, aws-s3, aws-s3-sdk, azureblob, azureblob-sdk" ;;
esac

conf="${S3PROXY_CONF_DIR:-/tmp}/s3proxy.properties"
umask 077
{
  echo "s3proxy.endpoint=$S3PROXY_ENDPOINT"
  echo "s3proxy.authorization=${S3PROXY_AUTHORIZATION:-aws-v2-or-v4}"
  echo "s3proxy.identity=$(secret S3PROXY_IDENTITY)"
  echo "s3proxy.credential=$(secret S3PROXY_CREDENTIAL)"
  echo "jclouds.provider=$JCLOUDS_PROVIDER"
  echo "jclouds.identity=$identity"
  echo "jclouds.credential=$(secret JCLOUDS_CREDENTIAL)"
  [ -z "$endpoint" ] || echo "jclouds.endpoint=$endpoint"
  [ -z "${JCLOUDS_REGION:-}" ] || echo "jclouds.region=$JCLOUDS_REGION"
} >"$conf"

echo "run-s3proxy: serving S3 on $S3PROXY_ENDPOINT in front of $JCLOUDS_PROVIDER at ${endpoint:-the provider's default endpoint}"
# shellcheck disable=SC2086 # S3PROXY_JAVA_OPTS is a list of JVM options
exec java ${S3PROXY_JAVA_OPTS:-} -jar "${S3PROXY_JAR:-/opt/s3proxy/s3proxy}" --properties "$conf"

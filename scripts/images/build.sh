#!/usr/bin/env bash
# Builds container images without Docker, as OCI image archives under $STACKBACKUP_TOOLS/images
# (default .cache/tools/images): the job image and the images of what the test cluster runs.
# An image whose pins and inputs did not change is not rebuilt (a warm run takes about a second).
# Needs root and the tools of scripts/install/image-tools.sh; the programs come from
# $STACKBACKUP_TOOLS (scripts/setup.sh installs them), the CLI bundle from dist/job (node scripts/bundle.mjs).
#
# Usage: scripts/images/build.sh [NAME...]   (no NAME: every recipe in scripts/images/recipes/)
#        scripts/images/build.sh --list      (the image names)
# Afterwards $STACKBACKUP_TOOLS/images/index.json lists every image: name, reference, archive, digest.
# Import into containerd: ctr -n k8s.io images import "$STACKBACKUP_TOOLS/images/jobs-0.1.0.tar"
# Push to a registry:     skopeo copy oci-archive:"$STACKBACKUP_TOOLS/images/jobs-0.1.0.tar":0.1.0 \
#                           docker://registry.example.com/stackbackup/jobs:0.1.0
set -Eeuo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/images/lib.sh
source "$here/lib.sh"

all=()
for recipe in "$here"/recipes/*.sh; do name="${recipe##*/}"; all+=("${name%.sh}"); done
if [[ "${1:-}" == --list ]]; then printf '%s\n' "${all[@]}"; exit 0; fi
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${all[@]}")
start=$SECONDS
for name in "${names[@]}"; do
  [[ -f "$here/recipes/$name.sh" ]] || die "no recipe scripts/images/recipes/$name.sh (images: ${all[*]})"
  bash "$here/recipes/$name.sh"
done
node "$here/oci.mjs" index "$IMAGES"
log "images ready in $((SECONDS - start)) s; index: $IMAGES/index.json"

#!/usr/bin/env bash
# The tools that build the container images (scripts/images/) without Docker, all Debian bookworm
# packages at pinned versions: mmdebstrap (the minimal Debian root filesystems), umoci (root
# filesystem + config -> OCI image), skopeo (reads the archives and pushes them to a registry:
# `skopeo copy oci-archive:FILE:TAG docker://REGISTRY/...`) and runc (test/integration/images.test.ts
# runs the job image with it). mmdebstrap and skopeo need their Debian dependencies, so they are
# installed with apt-get (root, or sudo); umoci and runc are only unpacked into $STACKBACKUP_TOOLS/bin.
# Idempotent: a second run only checks the installed versions.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MMDEBSTRAP_VERSION="1.3.5-7"
SKOPEO_VERSION="1.9.3+ds1-1+b10"
UMOCI_VERSION="0.4.7+ds-3+b7"
RUNC_VERSION="1.1.5+ds1-1+deb12u1"

# apt_pinned PKG=VERSION...: installs the packages at exactly these versions unless already installed.
apt_pinned() {
  local spec missing=()
  for spec in "$@"; do
    [[ "$(dpkg-query -W -f='${Version}' "${spec%%=*}" 2>/dev/null || true)" == "${spec#*=}" ]] || missing+=("$spec")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then log "${*} already installed"; return 0; fi
  command -v apt-get >/dev/null || die "apt-get not found: the image tools are Debian packages (${missing[*]})"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  log "installing Debian packages ${missing[*]}"
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    "${sudo[@]}" apt-get update -qq >/dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "could not install ${missing[*]}; check that Debian's package mirror is reachable (and the pins in $0)"
  fi
}

apt_pinned "mmdebstrap=$MMDEBSTRAP_VERSION" "skopeo=$SKOPEO_VERSION"
deb_install umoci "$UMOCI_VERSION" usr/bin/umoci
deb_install runc "$RUNC_VERSION" usr/sbin/runc
"$BIN/umoci" --version >/dev/null || die "umoci does not run"
"$BIN/runc" --version >/dev/null || die "runc does not run (it needs libseccomp2: apt-get install libseccomp2)"

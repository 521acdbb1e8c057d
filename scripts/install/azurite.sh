#!/usr/bin/env bash
# Azurite (Microsoft's Azure Storage emulator), from npm at a pinned version, installed into
# .cache/tools/azurite; .cache/tools/bin/azurite-blob runs its blob service. Used to test the chart's
# minio.azuregateway mode (s3proxy in front of Azure Blob Storage) without a cloud account.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
AZURITE_VERSION="3.37.0"

if is_current azurite "$AZURITE_VERSION" && [[ -x "$BIN/azurite-blob" ]]; then
  log "azurite $AZURITE_VERSION already installed"; exit 0
fi
command -v npm >/dev/null || die "npm not found: Azurite is installed from the npm registry"
log "installing azurite $AZURITE_VERSION from npm"
mkdir -p "$TOOLS/azurite"
# A package.json of its own keeps npm from walking up into the repository's package.json.
[[ -f "$TOOLS/azurite/package.json" ]] || printf '{ "name": "stackbackup-tools-azurite", "private": true }\n' >"$TOOLS/azurite/package.json"
npm install --prefix "$TOOLS/azurite" --no-audit --no-fund --save-exact "azurite@$AZURITE_VERSION" >&2 \
  || die "could not install azurite@$AZURITE_VERSION; check that the npm registry is reachable"
main="$TOOLS/azurite/node_modules/azurite/dist/src/blob/main.js"
[[ -f "$main" ]] || die "azurite blob entrypoint not found at $main"
cat >"$BIN/azurite-blob" <<WRAPPER
#!/usr/bin/env bash
# Azurite $AZURITE_VERSION blob service (installed by scripts/install/azurite.sh).
exec node "$main" "\$@"
WRAPPER
chmod +x "$BIN/azurite-blob"
mark_current azurite "$AZURITE_VERSION"

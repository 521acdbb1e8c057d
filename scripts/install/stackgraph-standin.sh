#!/usr/bin/env bash
# The StackGraph stand-in for tests and the demo: sts-graph-standin, a small graph store on SQLite
# (Python's standard sqlite3 module) whose -export FILE / -import FILE [-force] honour the contract of
# StackState's `stackstate-server -export` / `-import`. Installed into $TOOLS/bin; needs python3 with
# sqlite3 (Debian: apt-get install python3).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SOURCE="$REPO_ROOT/scripts/install/stackgraph-standin/sts-graph-standin.py"
TARGET="$BIN/sts-graph-standin"

if ! command -v python3 >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "python3 not found: installing Debian's python3 for the StackGraph stand-in"
    apt-get update -qq && apt-get install -y -qq python3 >/dev/null || die "could not install python3 with apt-get"
  else
    die "python3 not found: the StackGraph stand-in needs it (Debian: sudo apt-get install python3)"
  fi
fi
python3 -c 'import sqlite3' 2>/dev/null || die "python3 has no sqlite3 module: install Debian's python3 (apt-get install python3)"

if [[ -x "$TARGET" ]] && cmp -s "$SOURCE" "$TARGET"; then
  log "sts-graph-standin already installed"
  exit 0
fi
install -m 0755 "$SOURCE" "$TARGET"
log "installed sts-graph-standin ($(python3 -c 'import sqlite3; print("SQLite", sqlite3.sqlite_version)'))"

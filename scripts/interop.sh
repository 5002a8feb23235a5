#!/usr/bin/env bash
# The interop suite: the real flak binary against servers nobody here wrote (nginx, Apache
# httpd, Caddy, h2o, a Node.js http2 server, hypercorn) over HTTP/1.1, HTTP/2, h2c and HTTP/3.
# Installs the servers from Debian when missing (idempotent), builds flak when FLAK_BIN is not
# there, runs tests/interop/run.py and prints the matrix. See docs/INTEROP.md.
# Usage: scripts/interop.sh [--only SUBSTRING] [--matrix docs/INTEROP.md]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1minterop:\033[0m %s\n' "$*" >&2; }

# Debian's hypercorn runs on Debian's own Python (/usr/bin/python3), whatever python3 is first
# on PATH; curl fetches the reference bodies (gzip) and ETags (304).
debs=(nginx apache2 caddy h2o python3-hypercorn openssl curl)
# nodejs may come from elsewhere than Debian (Node 20 here); any `node` will do.
command -v node >/dev/null || debs+=(nodejs)
. scripts/debs.sh
# A package that cannot be installed is not fatal: run.py skips its server with a line saying so.
install_debs "${debs[@]}" || log "apt-get failed: some servers will be skipped"

export FLAK_BIN="${FLAK_BIN:-$PWD/target/debug/flak}"
if [ ! -x "$FLAK_BIN" ]; then
  log "building flak ($FLAK_BIN is missing)"
  cargo build -p flak
fi

exec python3 tests/interop/run.py "$@"

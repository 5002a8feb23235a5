# Sourced by the other scripts: puts the project's tools on PATH.
# shellcheck shell=bash
FLAK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FLAK_ROOT
export PATH="$FLAK_ROOT/scripts/node/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"

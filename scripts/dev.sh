#!/usr/bin/env bash
# Sets up what is missing, builds the browser app (release) and the CLI, then serves the app
# on http://127.0.0.1:8080/ next to the built-in target on http://127.0.0.1:8081/.
# Usage: scripts/dev.sh [--app-listen ADDR] [--listen ADDR]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$FLAK_ROOT"
scripts/setup.sh --no-cross
scripts/build-app.sh
cargo build --release -p flak
exec target/release/flak target --app dist --listen 127.0.0.1:8081 --app-listen 127.0.0.1:8080 "$@"

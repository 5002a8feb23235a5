#!/usr/bin/env bash
# Builds the browser app into dist/ with Trunk (release, offline: tools come from PATH).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$FLAK_ROOT"
trunk build --release "$@"

#!/usr/bin/env bash
# Builds the browser app into dist/ with Trunk (release, offline: tools come from PATH).
#
# The wasm is built against a standard library compiled with it (`build-std`), with panics that
# trap at once (`panic=immediate-abort`) and no file/line strings for them: that drops the
# standard library's panic messages, formatting paths and location data, 31 KB gzip of the
# 350 KB budget (ARCHITECTURE.md, "The app's bundle"). These are unstable flags of the pinned
# stable compiler, enabled for this build only (RUSTC_BOOTSTRAP); the app never relies on a
# panic's message (bad input is a message by the field, never a panic). Native builds and the
# wasm tests use the normal standard library.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$FLAK_ROOT"
export RUSTC_BOOTSTRAP=1
export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
# The standard library's own size mode (smaller sort, formatting and collections code): -6.8 KB.
export CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
trunk build --release "$@"

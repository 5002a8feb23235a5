#!/usr/bin/env bash
# Installs everything flak needs to build, run and test, from the package registries only.
# Idempotent: each step is skipped when the tool already reports the wanted version.
# Usage: scripts/setup.sh [--no-cross]   (FLAK_SETUP_CROSS=0 does the same)
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
cross=${FLAK_SETUP_CROSS:-1}
[ "${1:-}" = "--no-cross" ] && cross=0

log() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

# --- Rust targets -----------------------------------------------------------------------------
targets=(wasm32-unknown-unknown)
[ "$cross" = 1 ] && targets+=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-pc-windows-gnu)
installed_targets=$(rustup target list --installed)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed_targets" || { log "rustup target add $t"; rustup target add "$t"; }
done

# The app's release build compiles the standard library itself (scripts/build-app.sh).
rustup component list --installed | grep -q '^rust-src' || { log "rustup component add rust-src"; rustup component add rust-src; }

# --- Debian packages --------------------------------------------------------------------------
debs=(chromium chromium-driver tinyproxy prometheus)
[ "$cross" = 1 ] && debs+=(musl-tools gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-mingw-w64-x86-64 qemu-user-static)
. scripts/debs.sh
install_debs "${debs[@]}"

# --- Crates: fetched up front, because the Trunk build runs offline ------------------------------
# (This also writes Cargo.lock, which the wasm-bindgen-cli step below reads.)
cargo fetch --quiet
# …and the standard library's own dependencies, for that build-std app build.
RUSTC_BOOTSTRAP=1 cargo fetch --quiet -Zbuild-std=std,panic_abort --target wasm32-unknown-unknown

# --- Cargo-installed tools (from source, off the crate registry) -------------------------------
# A plain release build of these tools is fine; LTO only slows the install.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION"; then
  log "cargo install trunk $TRUNK_VERSION"
  cargo install trunk --locked --version "$TRUNK_VERSION"
fi
# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock exactly. Not --locked: its lockfile
# pins a crate version the registry here lacks.
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wb_version"; then
  log "cargo install wasm-bindgen-cli $wb_version"
  cargo install wasm-bindgen-cli --version "$wb_version"
fi

# --- npm tools: wasm-opt (binaryen), terser (the app's JS glue), playwright-core (end-to-end) ---
if [ ! -x scripts/node/node_modules/.bin/wasm-opt ] || [ ! -d scripts/node/node_modules/playwright-core ] ||
  [ ! -d scripts/node/node_modules/terser ] ||
  [ scripts/node/package-lock.json -nt scripts/node/node_modules/.package-lock.json ]; then
  log "npm ci (scripts/node)"
  (cd scripts/node && npm ci --no-audit --no-fund --loglevel=error)
fi

log "ready"

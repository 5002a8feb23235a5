#!/usr/bin/env bash
# Sets up what is missing, then runs every check and test: format, clippy (native and wasm32),
# native unit and integration tests, wasm tests in headless Chromium, cross-compiled CLI builds
# (the aarch64 one run under qemu), the release app build, the end-to-end browser tests, and the
# interop suite against servers nobody here wrote (scripts/interop.sh).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$FLAK_ROOT"

step() { printf '\n\033[1m=== %s\033[0m\n' "$*"; }
# Every test runner's output is also kept here, for the one-line total at the end.
results="$(mktemp)"

step "setup"
scripts/setup.sh

step "format"
cargo fmt --all -- --check
for js in src/browser/*.js; do node --input-type=module --check <"$js" || { echo "$js: not valid JavaScript" >&2; exit 1; }; done

step "dependency direction"
# The browser adapters know nothing of the UI model (ARCHITECTURE.md); the wire crate nothing of the CLI.
if grep -rnE 'crate::(model|state|config|components|app)\b' src/browser; then
  echo "src/browser imports from the UI model (see above)" >&2; exit 1
fi
if grep -rnE '\b(clap|flak::)' crates/wire/src crates/wire/Cargo.toml; then
  echo "crates/wire depends on the CLI (see above)" >&2; exit 1
fi

# First: the CLI embeds dist/ (crates/cli/build.rs), so every flak built below carries this app.
step "release app build (trunk)"
scripts/build-app.sh

step "web bundle budget (wasm + JS + CSS, gzipped)"
node scripts/bundle-size.mjs dist

step "clippy (native)"
cargo clippy --workspace --all-targets -- -D warnings

step "clippy (wasm32, with the wasm bans)"
CLIPPY_CONF_DIR="$FLAK_ROOT/scripts/clippy_wasm" \
  cargo clippy --target wasm32-unknown-unknown -p flak-core -p flak-web --all-targets -- -D warnings

step "cross-compiled CLI (x86_64 musl, aarch64 musl, x86_64 windows)"
scripts/cross-build.sh
export FLAK_AARCH64_BIN="$FLAK_ROOT/target/aarch64-unknown-linux-musl/release/flak"

step "wasm tests in headless Chromium (core scheduler; fetch transport against flak target)"
cargo build -p flak
target_log="$(mktemp)"
target/debug/flak target --listen 127.0.0.1:0 --app dist --app-listen 127.0.0.1:0 >"$target_log" &
target_pid=$!
trap 'kill "$target_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "flak app on" "$target_log" && break; sleep 0.1; done
FLAK_TEST_TARGET="$(grep -o 'listening on http://[^ ]*' "$target_log" | cut -d' ' -f3)"
FLAK_TEST_NOCORS="$(grep -o 'flak app on http://[^/]*/' "$target_log" | cut -d' ' -f4)index.html"
export FLAK_TEST_TARGET FLAK_TEST_NOCORS
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown -p flak-core -p flak-web 2>&1 | tee -a "$results"
kill "$target_pid"

step "end-to-end tests of the built app in headless Chromium"
FLAK_BIN="$FLAK_ROOT/target/debug/flak" node --test tests/e2e/ 2>&1 | tee -a "$results"

step "interop: the real binary against nginx, Apache, Caddy, h2o, Node http2, hypercorn (docs/INTEROP.md)"
scripts/interop.sh 2>&1 | tee -a "$results"

step "native tests (unit, integration through the real binary, cross binary under qemu)"
cargo test --workspace 2>&1 | tee -a "$results"

# One line with every runner's totals: cargo's "test result: ok. N passed; M failed" lines and
# node's "# pass N" / "# fail N".
passed=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^passed/) s += $i } /^# pass / { s += $3 } END { print s + 0 }' "$results")
failed=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^failed/) s += $i } /^# fail / { s += $3 } END { print s + 0 }' "$results")
rm -f "$results"
echo
echo "all: $passed passed, $failed failed"

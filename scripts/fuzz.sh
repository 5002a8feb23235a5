#!/usr/bin/env bash
# Fuzzes flak's parsers: every target in fuzz/ (cargo-fuzz, libFuzzer) for SECONDS each.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 60 s each, every target
#   KEEP_GOING=1 scripts/fuzz.sh ...           go on past crashes (libFuzzer -fork=1), saving each
#
# Not part of CI (scripts/test.sh): a fuzzing run is open-ended by nature. Installs cargo-fuzz if
# it is missing. Works on the stable toolchain: cargo-fuzz passes nightly-only -Z flags
# (sanitizer, coverage instrumentation), which RUSTC_BOOTSTRAP=1 lets stable rustc accept.
# New corpus entries go to fuzz/corpus/TARGET (kept between runs, not committed); the committed
# seeds are in fuzz/seeds/TARGET. A crash stops that target, leaves its input in
# fuzz/artifacts/TARGET/, and makes the script exit 1 after the remaining targets ran.
# See docs/FUZZING.md.
set -euo pipefail

cd "$(dirname "$0")/../fuzz"

seconds=${1:-60}
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
    exit 2
fi
all=(url_template targets_file threshold duration results_load results_counts
     h1_response h2_frames hpack_decode huffman_decode h2_exchange proxy_connect
     data_file scenario_file har_import curl_import)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
# With debug assertions, so that integer overflow panics instead of wrapping: exact accounting is
# the point of flak, and a count that wraps silently is a bug.
cargo fuzz build --debug-assertions

failed=()
for target in "${targets[@]}"; do
    echo "== $target: ${seconds}s" >&2
    mkdir -p "corpus/$target"
    mkdir -p "seeds/$target"
    opts=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1)
    # Results files run to several KiB; the other inputs are short lines.
    if [ "$target" = results_load ]; then opts+=(-max_len=16384); else opts+=(-max_len=4096); fi
    [ -f "dict/$target.dict" ] && opts+=(-dict="dict/$target.dict")
    if [ "${KEEP_GOING:-0}" = 1 ]; then
        mkdir -p "artifacts/$target"
        opts+=(-fork=1 -ignore_crashes=1 -artifact_prefix="artifacts/$target/")
    fi
    if ! cargo fuzz run --debug-assertions "$target" "corpus/$target" "seeds/$target" -- "${opts[@]}"; then
        failed+=("$target")
    fi
    if [ "${KEEP_GOING:-0}" = 1 ] && compgen -G "artifacts/$target/crash-*" >/dev/null; then
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz.sh: no crash in ${targets[*]} (${seconds}s each)" >&2

#!/usr/bin/env bash
# Builds release binaries of the CLI for x86_64-unknown-linux-musl (static),
# aarch64-unknown-linux-musl and x86_64-pc-windows-gnu into target/<triple>/release/.
# macOS cannot be linked here (no SDK). Needs `scripts/setup.sh` (targets and linkers).
# Usage: scripts/cross-build.sh [TRIPLE ...]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$FLAK_ROOT"

triples=("$@")
[ ${#triples[@]} -gt 0 ] || triples=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-pc-windows-gnu)

for triple in "${triples[@]}"; do
  case "$triple" in
    x86_64-unknown-linux-musl)
      # Only the C compiler for ring: a musl-gcc *linker* yields a binary that crashes at start.
      env CC_x86_64_unknown_linux_musl=musl-gcc \
        cargo build --release -p flak --target "$triple" ;;
    aarch64-unknown-linux-musl)
      env CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc \
        AR_aarch64_unknown_linux_musl=aarch64-linux-gnu-ar \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUNNER=qemu-aarch64-static \
        cargo build --release -p flak --target "$triple" ;;
    x86_64-pc-windows-gnu)
      env CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
        cargo build --release -p flak --target "$triple" ;;
    *) echo "cross-build: unknown target $triple" >&2; exit 2 ;;
  esac
  bin="target/$triple/release/flak"
  [ "$triple" = x86_64-pc-windows-gnu ] && bin="$bin.exe"
  echo "built $bin: $(file -b "$bin" 2>/dev/null | cut -c1-90 || true)"
done

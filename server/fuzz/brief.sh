#!/usr/bin/env bash
# Run the packet-decoder fuzz target briefly (FUZZ_SECONDS, default 30): what CI does
# after the test suite. A crash fails the run and leaves its input in artifacts/decoders/.
#
# cargo-fuzz builds with rustc flags that only nightly accepts (-Zsanitizer=address and
# friends); this project's machines have the stable toolchain only, and RUSTC_BOOTSTRAP=1
# is how stable rustc is told to accept them. Without cargo-fuzz installed
# (`cargo install cargo-fuzz --locked`), the script says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is not installed (cargo install cargo-fuzz --locked): fuzz run skipped"
  exit 0
fi
RUSTC_BOOTSTRAP=1 cargo fuzz run decoders -- -max_total_time="${FUZZ_SECONDS:-30}"

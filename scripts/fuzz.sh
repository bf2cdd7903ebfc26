#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a set time, starting from the committed seed
# corpus fuzz/seeds/<target>/ (inputs libFuzzer finds go to fuzz/corpus/<target>/, git-ignored;
# crashes to fuzz/artifacts/<target>/). Prints one line per target and exits 1 on any crash.
#
# Usage: scripts/fuzz.sh [--if-available] [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET  default 60; the recorded long run used 600 (docs/robustness.md)
#   TARGET...           default: every target `cargo fuzz list` names
#   --if-available      (CI) without a nightly toolchain, say so and exit 0
# Env: FUZZ_TARGET_DIR (default $CARGO_TARGET_DIR/fuzz or target/fuzz) for the sanitizer builds.
# Needs nightly Rust (libFuzzer's sanitizer flags); installs cargo-fuzz when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
optional=0
if [ "${1:-}" = "--if-available" ]; then
  optional=1
  shift
fi
secs=${1:-60}
[ $# -gt 0 ] && shift
skip() {
  echo "fuzz: skipped: $1"
  if [ "$optional" = 1 ]; then exit 0; else exit 1; fi
}
rustup toolchain list 2>/dev/null | grep -q '^nightly' \
  || skip "no nightly toolchain (rustup toolchain install nightly)"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz >/dev/null 2>&1 || skip "cargo-fuzz could not be installed"
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
# Fuzz builds (sanitizer flags, nightly) kept apart from the ordinary target directory.
fuzz_target_dir="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/fuzz}"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t"
  log="$(mktemp)"
  # Build first, so that the time asked is time spent fuzzing.
  if ! cargo +nightly fuzz build --target-dir "$fuzz_target_dir" "$t" >"$log" 2>&1; then
    echo "fuzz: $t: the build failed:"
    tail -20 "$log"
    failed+=("$t")
    continue
  fi
  start=$(date +%s)
  set +e
  cargo +nightly fuzz run --target-dir "$fuzz_target_dir" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  took=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  peak=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  if [ "$rc" = 0 ]; then
    echo "fuzz: $t: ${secs} s asked, ${took} s wall, ${execs:-?} runs, cov ${cov:-?}, peak RSS ${peak:-?} MB, corpus ${corpus} inputs: no crash"
  else
    echo "fuzz: $t: FAILED (exit $rc) after ${took} s; the end of libFuzzer's output:"
    tail -40 "$log"
    failed+=("$t")
  fi
  rm -f "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]} (inputs in fuzz/artifacts/<target>/; replay with cargo +nightly fuzz run <target> <file>)"
  exit 1
fi

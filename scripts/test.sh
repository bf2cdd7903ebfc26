#!/usr/bin/env bash
# Runs every voipwatch test on a fresh machine: installs what is missing first
# (wasm32 target, wasm-bindgen-cli, Debian's chromium and the capture tools, npm packages),
# then: format check, clippy, unit + integration + golden + corpus tests, the core's
# wasm32 build, a 60-s fuzz smoke per target (when nightly is installed), the wasm
# bindings' tests in Node, and the browser tests in Chromium.
# Usage: scripts/test.sh            (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }

step "install: toolchain pieces"
scripts/install-deps.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (unit, integration, golden, corpus, lab, mutation)"
cargo test --workspace

step "core builds for wasm32-unknown-unknown"
cargo build -p voipwatch-core --target wasm32-unknown-unknown

step "fuzz targets still build against the core's API (cargo check, stable)"
cargo check --manifest-path fuzz/Cargo.toml --bins

step "fuzz smoke: each cargo-fuzz target for 60 s from fuzz/seeds (only with nightly)"
scripts/fuzz.sh --if-available 60

step "wasm bindings tests in Node (wasm-bindgen-test-runner)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p voipwatch-wasm --target wasm32-unknown-unknown

step "browser tests (Chromium + playwright-core)"
web/test.sh

step "all tests passed"

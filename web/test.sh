#!/usr/bin/env bash
# Browser tests of the voipwatch page in real (Debian) Chromium, driven by playwright-core.
# Installs what is missing (chromium, npm packages, wasm toolchain via build.sh), builds
# web/dist and the native CLI, then runs web/tests/*.test.mjs with Node's test runner.
# Artefacts (screenshots in en/fr/ar, phone-width shots, evidence PDF, throughput line) go to
# test-artifacts/. Env: VOIPWATCH_BIG_MB (default 1024) sizes the generated streaming capture.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) export CARGO_TARGET_DIR="$root/$CARGO_TARGET_DIR" ;; esac

if [ ! -x /usr/bin/chromium ]; then
  echo "web/test.sh: installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
cd "$here"
if [ ! -f node_modules/playwright-core/package.json ] || ! cmp -s package-lock.json node_modules/.package-lock.json.src 2>/dev/null; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.package-lock.json.src
fi

"$here/build.sh"
(cd "$root" && cargo build --release --bin voipwatch)
export VOIPWATCH_BIN="$CARGO_TARGET_DIR/release/voipwatch"
mkdir -p "$root/test-artifacts"
cd "$here"
node --test --test-concurrency=1 tests/

#!/usr/bin/env bash
# Installs what the tests need, skipping what is already there. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen crate pinned in wasm/Cargo.toml

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  # Without --locked: one of its locked dependencies is not available from this registry.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v capinfos >/dev/null 2>&1 || need+=(tshark)
command -v tcpdump  >/dev/null 2>&1 || need+=(tcpdump)
# `voipwatch capture` (default feature) links libpcap; its namespace tests need ip (iproute2)
[ -e /usr/include/pcap.h ] || [ -e /usr/include/pcap/pcap.h ] || need+=(libpcap-dev)
command -v ip       >/dev/null 2>&1 || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq "${need[@]}"
fi

if [ -f web/package-lock.json ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi

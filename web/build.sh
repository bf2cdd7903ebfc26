#!/usr/bin/env bash
# Builds the self-contained static page into web/dist/:
#   index.html, app.js, worker.js, i18n.js, charts.js, style.css   (copied from web/)
#   voipwatch_wasm.js, voipwatch_wasm_bg.wasm                      (wasm-bindgen --target web)
#   sample.pcap                                                    (a lab capture to try)
# Installs the wasm32 target and wasm-bindgen-cli 0.2.130 (the version the crate pins) only when
# missing. Honours CARGO_TARGET_DIR. Serve dist/ with `voipwatch serve` or any static server that
# sends .wasm as application/wasm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
want_bindgen="0.2.130"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $want_bindgen" ]; then
  # No --locked: one of the locked dependencies is not available from this registry mirror.
  cargo install wasm-bindgen-cli --version "$want_bindgen"
fi

cd "$root"
cargo build -p voipwatch-wasm --target wasm32-unknown-unknown --release
wasm="$target_dir/wasm32-unknown-unknown/release/voipwatch_wasm.wasm"

dist="$here/dist"
tmp="$(mktemp -d "$here/.dist.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
wasm-bindgen --target web --remove-name-section --no-typescript --out-dir "$tmp" --out-name voipwatch_wasm "$wasm"
for f in index.html app.js worker.js i18n.js charts.js style.css; do
  cp "$here/$f" "$tmp/$f"
done
# A sample to try: a lab capture of a WhatsApp call whose incoming audio was black-holed
# (captures/udp_media_blackhole.pcap, 147 kB), served from the page's own origin.
cp "$root/captures/udp_media_blackhole.pcap" "$tmp/sample.pcap"
rm -rf "$dist"
mv "$tmp" "$dist"
trap - EXIT
chmod 755 "$dist"
echo "web/dist ready: $(du -sh "$dist" | cut -f1) ($(stat -c %s "$dist/voipwatch_wasm_bg.wasm") bytes of wasm)"

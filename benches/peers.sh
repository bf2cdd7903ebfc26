#!/usr/bin/env bash
# Side-by-side speed comparison on one large capture, in one run (ratios, not absolute times:
# the machines are shared and noisy). Compares `voipwatch analyze` with ndpiReader and tshark,
# and with the floor: a walk over the record headers touching each packet's IP and ports.
# Usage: benches/peers.sh [CAPTURE]   (default: builds a ~270 MB capture from captures/*.pcap)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release
cargo build --release --quiet --example floor -p voipwatch-core 2>/dev/null || true
big=${1:-}
if [ -z "$big" ]; then
  big=/tmp/voipwatch-big.pcap
  if [ ! -f "$big" ]; then
    mapfile -t inputs < <(for f in captures/*.pcap; do
      python3 -c 'import struct,sys;d=open(sys.argv[1],"rb").read(24);sys.exit(0 if struct.unpack("<I",d[:4])[0] in (0xA1B2C3D4,0xA1B23C4D) and struct.unpack("<I",d[20:24])[0]==1 else 1)' "$f" && echo "$f"; done)
    python3 benches/make_big.py "$big" 270 "${inputs[@]}"
  fi
fi
size=$(stat -c %s "$big")
cat "$big" > /dev/null   # warm the page cache
t() { # best of 3 wall-clock seconds
  local best=""
  for _ in 1 2 3; do
    local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s.%N)
    local d; d=$(echo "$e - $s" | bc); if [ -z "$best" ] || [ "$(echo "$d < $best" | bc)" = 1 ]; then best=$d; fi
  done
  echo "$best"
}
vw=$(t "$bin"/voipwatch analyze --format json "$big")
echo "capture: $big ($((size / 1000000)) MB, $(capinfos -M -c "$big" 2>/dev/null | awk '/Number of packets/ {print $4}') packets)"
printf '%-34s %8.2f s  %7.0f MB/s\n' "voipwatch analyze --format json" "$vw" "$(echo "$size / 1000000 / $vw" | bc -l)"
if [ -x "$bin"/examples/floor ]; then
  fl=$(t "$bin"/examples/floor "$big")
  printf '%-34s %8.2f s  (voipwatch / floor = %.2f×)\n' "floor (header walk)" "$fl" "$(echo "$vw / $fl" | bc -l)"
fi
if command -v ndpiReader > /dev/null; then
  nd=$(t ndpiReader -i "$big" -q)
  printf '%-34s %8.2f s  (ndpiReader / voipwatch = %.2f×)\n' "ndpiReader -i" "$nd" "$(echo "$nd / $vw" | bc -l)"
fi
if command -v tshark > /dev/null && [ "${SKIP_TSHARK:-0}" != 1 ]; then
  ts=$(t tshark -r "$big" -q -z conv,tcp)
  printf '%-34s %8.2f s  (tshark / voipwatch = %.2f×)\n' "tshark -q -z conv,tcp" "$ts" "$(echo "$ts / $vw" | bc -l)"
fi
/usr/bin/time -f "voipwatch peak RSS: %M kB" "$bin"/voipwatch analyze --format json "$big" > /dev/null

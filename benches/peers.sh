#!/usr/bin/env bash
# Side-by-side speed comparison on one large capture, in one run (issue 14). The machines are
# shared and noisy, so the tools run in alternation, RUNS rounds of one run each, and each tool's
# median is kept: the ratios between medians of one run are what to quote, not absolute times.
#   voipwatch analyze --format json   (one file: one core)
#   floor                             benches/floor: mmap + walk over the record headers touching
#                                     each packet's IP addresses and ports (the least any analyser does)
#   ndpiReader -i FILE -q             nDPI's flow classifier (apt-get install -y libndpi-bin)
#   tshark -r FILE -q -z conv,tcp     Wireshark's TCP conversations (apt-get install -y tshark)
# A peer that is not installed is skipped with a message. Peak RSS from /usr/bin/time -v
# ("Maximum resident set size") of the last round.
# Usage: benches/peers.sh [CAPTURE]
#   default capture: /work/bench-data/real_mixed.pcap (build it with benches/make_real.sh, as
#   root); without it, a ~270 MB capture repeated from captures/*.pcap by benches/make_big.py.
#   RUNS=7 (rounds), SKIP_TSHARK=1 (tshark is ~50× slower than the rest).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-7}
target=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet
cargo build --release --quiet --manifest-path benches/floor/Cargo.toml --target-dir "$target"
bin=$target/release
big=${1:-/work/bench-data/real_mixed.pcap}
if [ ! -f "$big" ]; then
  echo "($big absent: benches/make_real.sh builds it, as root; using a repeated-lab capture instead)"
  big=/tmp/voipwatch-big.pcap
  if [ ! -f "$big" ]; then
    mapfile -t inputs < <(for f in captures/*.pcap; do
      python3 -c 'import struct,sys;d=open(sys.argv[1],"rb").read(24);sys.exit(0 if struct.unpack("<I",d[:4])[0] in (0xA1B2C3D4,0xA1B23C4D) and struct.unpack("<I",d[20:24])[0]==1 else 1)' "$f" && echo "$f"; done)
    python3 benches/make_big.py "$big" 270 "${inputs[@]}"
  fi
fi
[ -x /usr/bin/time ] || { echo "peers.sh: needs /usr/bin/time (apt-get install -y time)" >&2; exit 2; }
size=$(stat -c %s "$big")
packets=$("$bin"/floor "$big" | awk '{print $1}')
cat "$big" > /dev/null # warm the page cache: every tool reads from memory

names=() cmds=()
add() { names+=("$1"); cmds+=("$2"); }
add "voipwatch analyze --format json" "$bin/voipwatch analyze --format json $big"
add "floor (mmap header walk)" "$bin/floor $big"
if command -v ndpiReader > /dev/null; then
  add "ndpiReader -i" "ndpiReader -i $big -q"
else
  echo "(ndpiReader absent, skipped: apt-get install -y libndpi-bin)"
fi
if [ "${SKIP_TSHARK:-0}" = 1 ]; then
  echo "(tshark skipped: SKIP_TSHARK=1)"
elif command -v tshark > /dev/null; then
  add "tshark -q -z conv,tcp" "tshark -r $big -q -z conv,tcp"
else
  echo "(tshark absent, skipped: apt-get install -y tshark)"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((r = 1; r <= runs; r++)); do
  for i in "${!cmds[@]}"; do
    s=$(date +%s%N)
    # shellcheck disable=SC2086
    /usr/bin/time -v -o "$tmp/rss$i" ${cmds[$i]} > /dev/null 2> "$tmp/err$i" || {
      echo "${names[$i]} failed:" >&2; tail -3 "$tmp/err$i" >&2; exit 1; }
    e=$(date +%s%N)
    echo $(((e - s) / 1000)) >> "$tmp/t$i"
  done
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.3f", m / 1e6}'; }
rss() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$1"; }

echo "capture: $big ($((size / 1000000)) MB, $packets packets); medians of $runs alternating runs"
declare -A med
for i in "${!cmds[@]}"; do
  med[$i]=$(median "$tmp/t$i")
  printf '%-34s %8.3f s  %6.0f MB/s  peak RSS %5s MB\n' "${names[$i]}" "${med[$i]}" \
    "$(echo "$size / 1000000 / ${med[$i]}" | bc -l)" "$(rss "$tmp/rss$i")"
done
vw=${med[0]}
for i in "${!cmds[@]}"; do
  [ "$i" = 0 ] && continue
  printf 'voipwatch / %-22s = %.2f×\n' "${names[$i]%% *}" "$(echo "$vw / ${med[$i]}" | bc -l)"
done

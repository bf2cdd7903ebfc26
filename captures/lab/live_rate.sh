#!/usr/bin/env bash
# How many packets per second `voipwatch capture` keeps up with (issue 16): a paced UDP flood
# (RTP-sized, 200-byte datagrams) at increasing rates from one namespace to another over a veth
# pair, captured on the receiving end; libpcap's own drop counter (pcap_stats) decides.
# Traffic stays inside the two namespaces created here; they are removed on exit.
#
# Usage: sudo captures/lab/live_rate.sh [BIN] [SECONDS] [RATE...]
#   BIN      voipwatch binary (default target/release/voipwatch: measure a release build)
#   SECONDS  flood length per rate (default 5)
#   RATE     packets per second (default 5000 10000 20000 40000 80000 160000)
# SENDERS=N splits each rate over N sender processes (one Python sender tops out near 130,000/s);
# VW_ARGS adds options to the capture (e.g. VW_ARGS="--interval 100" for no live updates).
set -euo pipefail
BIN=${1:-target/release/voipwatch}; shift || true
SECS=${1:-5}; shift || true
RATES=("$@"); [ ${#RATES[@]} -gt 0 ] || RATES=(5000 10000 20000 40000 80000 160000)
A=vwrate$$a; B=vwrate$$b; DIR=$(mktemp -d)
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT INT TERM
ip netns add "$A"; ip netns add "$B"
ip link add ra0 netns "$A" type veth peer name rb0 netns "$B"
ip -n "$A" addr add 10.74.0.1/24 dev ra0; ip -n "$B" addr add 10.74.0.2/24 dev rb0
ip -n "$A" link set ra0 up; ip -n "$B" link set rb0 up; ip -n "$A" link set lo up; ip -n "$B" link set lo up
# A socket that drains the flood, so the receiver answers no ICMP port-unreachable.
ip netns exec "$B" python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.74.0.2", 30000))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
while True: s.recv(2048)' &
SINK=$!
trap 'kill $SINK 2>/dev/null || true; cleanup' EXIT INT TERM
printf '%10s %10s %10s %10s %10s %8s\n' rate_pps sent captured received dropped ifdrop
for r in "${RATES[@]}"; do
  ip netns exec "$B" "$BIN" capture -i rb0 -f udp --duration $((SECS + 2)) --format json ${VW_ARGS:-} \
     -w "$DIR/flood.pcapng" >/dev/null 2>"$DIR/err" &
  CAP=$!
  sleep 1
  sent=$(for _ in $(seq "${SENDERS:-1}"); do ip netns exec "$A" python3 -c '
import socket, sys, time
rate, secs = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("10.74.0.2", 30000))
msg = bytes([0x80, 0]) + bytes(198); n = 0; t0 = time.perf_counter()
while True:
    el = time.perf_counter() - t0
    if el >= secs: break
    due = int(el * rate)
    while n < due:
        s.send(msg); n += 1
print(n)' "$((r / ${SENDERS:-1}))" "$SECS" & done | awk '{n += $1} END {print n}')
  wait $CAP || true
  line=$(grep "libpcap:" "$DIR/err" || true)
  cap=$(sed -nE 's/.*: ([0-9,]+) packets captured.*/\1/p' <<<"$line" | tr -d ,)
  rec=$(sed -nE 's/.*libpcap: ([0-9,]+) received.*/\1/p' <<<"$line" | tr -d ,)
  drop=$(sed -nE 's/.*received, ([0-9,]+) dropped.*/\1/p' <<<"$line" | tr -d ,)
  ifd=$(sed -nE 's/.*, ([0-9,]+) dropped by the interface.*/\1/p' <<<"$line" | tr -d ,)
  printf '%10s %10s %10s %10s %10s %8s\n' "$r" "$sent" "${cap:-?}" "${rec:-?}" "${drop:-?}" "${ifd:-?}"
done
